package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/bitcoin"
	"github.com/flowwatch/flowwatch/chains/ethereum"
	"github.com/flowwatch/flowwatch/watcher"
	"github.com/flowwatch/flowwatch/watcher/api"
	"github.com/flowwatch/flowwatch/watcher/config"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/fanin"
	"github.com/flowwatch/flowwatch/watcher/queue"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

// system is one flowwatch process's pipeline: a poller per chain, rules workers and the
// alerting pipeline, built from a config.
type system struct {
	extra    []func(context.Context) error // other loops to run beside (lists reload)
	pollers  []*watcher.Poller
	workers  []*watcher.Worker
	trimmers []func(context.Context) error
	closers  []func() error
	log      *zap.Logger
	// dispatcher delivers what the workers logged in journal; notifiers are the sinks.
	dispatcher *alerting.Dispatcher
	journal    alerting.Journal
	notifiers  map[string]alerting.Notifier
	apiAddr    string // where the screening API listens; "": none
	// metricsAddr is where the metrics endpoint listens; "": none.
	metricsAddr string
	// nodes are the chains' sources, for the API's deposit screening.
	nodes map[string]api.Node
	// failovers are the chains with several endpoints, for metrics.
	failovers []failoverOf
	// metrics are flowwatch run's (nil in other commands); chainNames and backlog are
	// what its scrapes read beside pollers and workers.
	metrics    *metrics
	chainNames []string
	backlog    interface {
		Backlog(ctx context.Context, chain string) (int64, error)
	}
}

// Stream trimming: every trimInterval, acknowledged entries beyond the newest streamKeep
// are dropped. An entry holds up to 256 movements of one block, so this keeps the last ten
// thousand or so blocks (a day and a half of Ethereum, two months of Bitcoin; about 1.5 GB
// at 400 movements a block), never anything unacknowledged.
const (
	trimInterval = time.Minute
	streamKeep   = 10_000
)

// deps are what the caller provides beyond the config.
type deps struct {
	stdout io.Writer
	log    *zap.Logger
	lists  *watchlist.Lists             // loaded lists (loadLists)
	live   *watchlist.Live              // if set, the workers read the lists through it
	extra  map[string]alerting.Notifier // sinks by name that the config does not describe
	// redisWait is how long to wait at start for a Redis not up yet (0: fail at once).
	redisWait time.Duration
}

func chainInfo(cfg *config.Config) watchlist.ChainInfo {
	return func(name string) (chains.Family, string, bool) {
		ch, ok := cfg.Chain(name)
		return ch.Family, ch.Network, ok
	}
}

// loadLists loads the config's list files (from fsys when not nil, else the disk); every
// rejected line is returned, the rest is loaded.
func loadLists(cfg *config.Config, fsys fs.FS) (*watchlist.Lists, []error, error) {
	lists := watchlist.New()
	var rejected []error
	for _, l := range cfg.Lists {
		var f io.ReadCloser
		var err error
		if fsys != nil {
			f, err = fsys.Open(l.Path)
		} else {
			f, err = os.Open(l.Path)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("list: %w", err)
		}
		entries, bad, err := watchlist.ReadFile(l.Path, f, chainInfo(cfg))
		f.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("list: %w", err)
		}
		for i := range bad {
			rejected = append(rejected, &bad[i])
		}
		// Lists name addresses on every chain; only the configured ones are followed.
		info := chainInfo(cfg)
		for _, e := range entries {
			if _, _, ok := info(e.Chain); ok {
				lists.Add(e)
			}
		}
	}
	return lists, rejected, nil
}

// redisPrefix is the prefix of the config's Redis keys.
func redisPrefix(cfg *config.Config) string {
	if cfg.Redis.Prefix == "" {
		return config.DefaultRedisPrefix
	}
	return cfg.Redis.Prefix
}

type queueImpl interface {
	queue.Journal
	queue.Consumer
	queue.Owners
}

func buildSystem(ctx context.Context, cfg *config.Config, d deps) (_ *system, err error) {
	s := &system{log: d.log, metrics: newMetrics()}
	s.metrics.reg.MustRegister(pipelineCollector{s})
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	var (
		q     queueImpl
		store taint.Store
		rdb   redis.UniversalClient // nil: in memory
	)
	if cfg.Redis.URL != "" {
		c, err := waitRedis(ctx, cfg.Redis, d.redisWait, d.log)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, c.Close)
		rdb = c
		prefix := redisPrefix(cfg)
		rq := queue.NewRedis(c, queue.RedisOptions{Prefix: prefix})
		s.closers = append(s.closers, rq.Close)
		q = rq
		for _, ch := range cfg.Chains {
			s.trimmers = append(s.trimmers, func(ctx context.Context) error {
				return trimLoop(ctx, rq, ch.Name, d.log)
			})
		}
		store = taint.NewRedis(c, prefix)
	} else {
		q = queue.NewMemory(nil)
		store = taint.NewMemory()
	}
	s.backlog = q
	pipeline, err := s.buildAlerting(cfg, d, rdb)
	if err != nil {
		return nil, err
	}
	var rs, early []rules.Rule
	for _, r := range cfg.Rules {
		rule, err := r.Rule()
		if err != nil {
			return nil, err
		}
		rs = append(rs, rule)
		if r.EarlyWarning {
			early = append(early, rs[len(rs)-1])
		}
	}
	reg, err := s.buildRegistry(ctx, cfg, rdb, d.log)
	if err != nil {
		return nil, err
	}
	// The workers take the deposit addresses exchanges registered for labels.
	lists := &watcher.WithRegistry{Lists: d.listsAPI(), Registry: reg}

	host, _ := os.Hostname()
	var names []string
	explorers := map[string]string{}
	deposits, fanIn := map[string]deposit.Options{}, map[string]fanin.Options{}
	lookBack := map[string]fanin.Node{}
	for _, ch := range cfg.Chains {
		if ch.Inferring() {
			tol, err := ch.Deposits.Tolerances()
			if err != nil {
				return nil, fmt.Errorf("chain %s: %w", ch.Name, err)
			}
			deposits[ch.Name] = deposit.Options{Window: ch.Deposits.Window, Tolerance: tol,
				MaxReceipts: ch.Deposits.MaxReceipts}
		}
		fanIn[ch.Name] = fanin.Options{MaxPayments: ch.FanIn.MaxPayments}
		src, err := s.source(ctx, ch, d.log)
		if err != nil {
			return nil, err
		}
		s.addNode(ch.Name, src)
		if n, ok := src.(fanin.Node); ok && ch.LookingBack() {
			if ch.Traces == string(ethereum.TracesOff) {
				n = fanin.LogsOnly(n)
			}
			lookBack[ch.Name] = n
		}
		popts := watcher.PollerOptions{Chain: ch.Name, Confirmations: *ch.Confirmations,
			StartBlock: ch.StartBlock, PollInterval: ch.PollInterval, Logger: d.log}
		var journal queue.Journal = q
		if rq, ok := q.(*queue.Redis); ok { // one process per chain publishes: a lease
			popts.Lease, popts.LeaseTTL = rq, cfg.PollerLease
			popts.Holder = fmt.Sprintf("%s-%d", host, os.Getpid())
			journal = rq.Fenced(popts.Holder)
		}
		p, err := watcher.NewPoller(src, journal, q, popts)
		if err != nil {
			return nil, fmt.Errorf("chain %s: %w", ch.Name, err)
		}
		s.pollers = append(s.pollers, p)
		names = append(names, ch.Name)
		s.chainNames = append(s.chainNames, ch.Name)
		if ch.Explorer != "" {
			explorers[ch.Name] = ch.Explorer
		}
		if len(early) > 0 && *ch.Confirmations > 0 {
			sc, err := watcher.NewScout(src, q, store, lists, early, pipeline,
				watcher.ScoutOptions{Chain: ch.Name, PollInterval: ch.PollInterval,
					Explorers: explorers, Log: s.journal, Logger: d.log})
			if err != nil {
				return nil, fmt.Errorf("chain %s: %w", ch.Name, err)
			}
			s.extra = append(s.extra, sc.Run)
		}
	}
	for i := range cfg.Workers {
		w, err := watcher.NewWorker(q, q, lists, store, rs, pipeline, watcher.WorkerOptions{
			Name: fmt.Sprintf("%s-%d-%d", host, os.Getpid(), i), Chains: names,
			Explorers: explorers, Deposits: deposits, FanIn: fanIn, LookBack: lookBack,
			ClaimIdle: cfg.ClaimIdle, Logger: d.log})
		if err != nil {
			return nil, err
		}
		s.workers = append(s.workers, w)
	}
	if err := s.buildHeartbeat(cfg, pipeline, d); err != nil {
		return nil, err
	}
	if err := s.buildAPI(cfg, d, store, reg, rdb); err != nil {
		return nil, err
	}
	if err := s.buildMetrics(cfg, rdb); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *system) source(ctx context.Context, ch config.Chain, log *zap.Logger) (
	chains.Source, error) {
	mode := ethereum.TracesAuto
	if ch.Family == chains.FamilyEVM {
		var err error
		if mode, err = ethereum.ParseTraceMode(ch.Traces); err != nil {
			return nil, fmt.Errorf("chain %s: %w", ch.Name, err)
		}
	}
	var certs []byte
	var err error
	if ch.CACert != "" {
		if certs, err = os.ReadFile(ch.CACert); err != nil {
			return nil, fmt.Errorf("chain %s: ca_cert: %w", ch.Name, err)
		}
	}
	// Every RPC URL of the chain is an endpoint; calls fail over from one to the next.
	srcs := make([]chains.Source, 0, len(ch.RPC))
	names := make([]string, 0, len(ch.RPC))
	for i, url := range ch.RPC {
		var src interface {
			chains.Source
			Close()
		}
		if ch.Family == chains.FamilyBitcoin {
			src, err = bitcoin.Dial(ctx, url, bitcoin.Options{Chain: ch.Name,
				Network: ch.Network, Certificates: certs, Logger: log})
		} else {
			src, err = ethereum.Dial(ctx, url, ethereum.Options{Chain: ch.Name, Traces: mode,
				ChainID: ch.ChainID, Logger: log})
		}
		if err != nil {
			return nil, fmt.Errorf("chain %s: rpc[%d]: %w", ch.Name, i, err)
		}
		s.closers = append(s.closers, func() error { src.Close(); return nil })
		name := endpointName(i, url)
		if s.metrics != nil {
			srcs = append(srcs, &measuredSource{Source: src, chain: ch.Name, endpoint: name,
				m: s.metrics})
		} else {
			srcs = append(srcs, src)
		}
		names = append(names, name)
	}
	if len(srcs) == 1 {
		return srcs[0], nil
	}
	f, err := chains.NewFailover(srcs, chains.FailoverOptions{Names: names,
		Weights: ch.RPCWeights, MaxLag: ch.RPCMaxLag,
		Logger: log.With(zap.String("chain", ch.Name))})
	if err != nil {
		return nil, fmt.Errorf("chain %s: %w", ch.Name, err)
	}
	if s.metrics != nil { // flowwatch run: check the endpoints as it goes
		s.extra = append(s.extra, f.Run)
		s.failovers = append(s.failovers, failoverOf{chain: ch.Name, f: f})
	}
	return f, nil
}

// endpointName names an RPC endpoint in logs by its position and host only: API keys live
// in paths and queries.
func endpointName(i int, raw string) string {
	host := "?"
	if u, err := url.Parse(raw); err == nil {
		host = u.Host
	}
	return fmt.Sprintf("rpc[%d] %s", i, host)
}

// run runs pollers and workers until ctx ends; workers finish the entries they hold.
func (s *system) run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, p := range s.pollers {
		g.Go(func() error { return p.Run(gctx) })
	}
	for _, w := range s.workers {
		g.Go(func() error { return w.Run(gctx) })
	}
	for _, t := range s.trimmers {
		g.Go(func() error { return t(gctx) })
	}
	for _, f := range s.extra {
		g.Go(func() error { return f(gctx) })
	}
	if s.dispatcher != nil {
		g.Go(func() error { return s.dispatcher.Run(gctx) })
	}
	err := g.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil // asked to stop
	}
	return err
}

func (s *system) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil {
			s.log.Warn("close", zap.Error(err))
		}
	}
	s.closers = nil
}

func joinErrors(errs []error) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	return b.String()
}

// trimLoop trims a chain's stream every trimInterval, never below an entry that is not
// acknowledged yet.
func trimLoop(ctx context.Context, q *queue.Redis, chain string, log *zap.Logger) error {
	t := time.NewTicker(trimInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			n, err := q.Trim(ctx, chain, streamKeep)
			if err != nil {
				log.Warn("trim failed", zap.String("chain", chain), zap.Error(err))
			} else if n > 0 {
				log.Info("trimmed", zap.String("chain", chain), zap.Int64("entries", n))
			}
		}
	}
}
