package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/watcher/api"
	"github.com/flowwatch/flowwatch/watcher/config"
	"github.com/flowwatch/flowwatch/watcher/taint"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const synopsis = "serve --config FILE\n\n" +
		"Serves the screening API (the config's api section) without following chains: it\n" +
		"answers from the lists and from the taint store that flowwatch run processes keep\n" +
		"in the config's Redis, and takes deposit-address registrations, which those\n" +
		"processes pick up. Deposit screening looks transactions up on the chains' nodes\n" +
		"(rpc). SIGHUP or a changed list file reloads the lists."
	fs := newFlagSet("serve", synopsis, stderr)
	path := fs.String("config", "", "config `file`")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	if *path == "" {
		return usageError(stderr, "serve", "--config is required")
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return fail(stderr, "serve", err)
	}
	if cfg.API.Listen == "" {
		return fail(stderr, "serve", errors.New("the config has no api.listen"))
	}
	log := newLogger(stderr, zap.InfoLevel, true)
	defer func() { _ = log.Sync() }()
	lists, rejected, err := loadLists(cfg, nil)
	if err != nil {
		return fail(stderr, "serve", err)
	}
	for _, e := range rejected {
		log.Warn("list entry rejected", zap.Error(e))
	}
	live := watchlist.NewLive(lists)
	s := &system{log: log}
	defer s.close()
	d := deps{stdout: stdout, log: log, lists: lists, live: live}
	rdb, store, err := s.stateStore(ctx, cfg)
	if err != nil {
		return fail(stderr, "serve", err)
	}
	reg, err := s.buildRegistry(ctx, cfg, rdb, log)
	if err != nil {
		return fail(stderr, "serve", err)
	}
	s.dialNodes(ctx, cfg, log)
	if err := s.buildAPI(cfg, d, store, reg, rdb); err != nil {
		return fail(stderr, "serve", err)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	s.extra = append(s.extra, newReloader(cfg, live, hup, log).Run)
	log.Info("serving", zap.String("addr", s.apiAddr))
	if err := s.run(ctx); err != nil {
		return fail(stderr, "serve", err)
	}
	return exitOK
}

// stateStore connects to the config's Redis, if any, and returns the taint store in it
// (or an empty one in memory).
func (s *system) stateStore(ctx context.Context, cfg *config.Config) (redis.UniversalClient,
	api.TaintReader, error) {
	if cfg.Redis.URL == "" {
		return nil, taint.NewMemory(), nil
	}
	c, err := waitRedis(ctx, cfg.Redis, redisStartWait, s.log)
	if err != nil {
		return nil, nil, err
	}
	s.closers = append(s.closers, c.Close)
	return c, taint.NewRedis(c, redisPrefix(cfg)), nil
}
