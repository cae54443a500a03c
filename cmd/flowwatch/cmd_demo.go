package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/file"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/configs"
	"github.com/flowwatch/flowwatch/internal/rediskeys"
	"github.com/flowwatch/flowwatch/watcher/config"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

const (
	demoPollInterval = 50 * time.Millisecond
	demoTimeout      = time.Minute
	demoChain        = "ethereum"
)

// demoConfig is the embedded default: the dev chain standing in for Ethereum, the bundled
// lists, two rules, and a sink the demo provides.
func demoConfig(url, redisURL string) *config.Config {
	zero, infer := uint64(0), true
	return &config.Config{
		Redis: config.Redis{URL: redisURL},
		Chains: []config.Chain{{Name: demoChain, Family: chains.FamilyEVM, RPC: []string{url},
			Confirmations: &zero, StartBlock: 1, PollInterval: demoPollInterval,
			Traces: "on", Deposits: config.Deposits{Infer: &infer}}},
		Lists: []config.List{{Path: "lists/ofac-ethereum.csv"},
			{Path: "lists/labels-ethereum.csv"}},
		Rules: []config.Rule{
			{Name: "sanctioned-to-mixer", Severity: "critical",
				Sources: []string{"sanctioned", "hack"}, Destinations: []string{"mixer"},
				MaxHops: 3, Sinks: []string{"out"}},
			{Name: "sanctioned-to-exchange", Severity: "high",
				Sources:      []string{"sanctioned", "hack", "ransomware"},
				Destinations: []string{"exchange"}, MaxHops: 5, Sinks: []string{"out"}},
		},
		Alerting:  demoAlerting(),
		Workers:   1,
		ClaimIdle: config.DefaultClaimIdle,
	}
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const synopsis = "demo [--json] [--redis URL] [--bitcoin auto|off]\n\n" +
		"The embedded default. Starts an in-process Ethereum dev chain serving JSON-RPC on\n" +
		"loopback, loads the bundled lists, and plays a DPRK-style laundering scenario: a\n" +
		"theft into an attributed wallet, a fan-out to fresh wallets, a deposit into the\n" +
		"Tornado Cash 100 ETH pool's address, a peel, and a payment to an exchange deposit\n" +
		"address that no list names, inferred from its earlier sweep to Binance's hot wallet.\n" +
		"The watcher follows the chain over JSON-RPC like any node, and alerts print as they\n" +
		"fire. When a btcd binary is at hand (on PATH, or built by the tests), a Bitcoin leg\n" +
		"plays too on btcd in simnet: a ransom paid to an attributed address, peeled through\n" +
		"fresh addresses, deposited at an exchange; the demo says so when it is not. Exits 0\n" +
		"once the expected alerts have arrived."
	fs := newFlagSet("demo", synopsis, stderr)
	asJSON := fs.Bool("json", false, "print alerts as JSON Lines")
	redisURL := fs.String("redis", "", "use Redis at this `URL` instead of the in-memory queue")
	btcMode := fs.String("bitcoin", "auto", "the Bitcoin leg: auto (when btcd is at hand) or off")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	if *btcMode != "auto" && *btcMode != "off" {
		return usageError(stderr, "demo", "--bitcoin %q: want auto or off", *btcMode)
	}
	ctx, cancel := context.WithTimeout(ctx, demoTimeout)
	defer cancel()
	chain, err := devnet.Start(devnet.Options{Accounts: demoAccounts, Seed: "flowwatch-demo",
		Alloc: demoAlloc(), Tracers: true})
	if err != nil {
		return fail(stderr, "demo", err)
	}
	defer chain.Close()
	sc := newScenario(chain)
	cfg := demoConfig(chain.URL, *redisURL)
	lists, rejected, err := loadLists(cfg, configs.Lists)
	if err != nil {
		return fail(stderr, "demo", err)
	}
	if len(rejected) > 0 {
		return fail(stderr, "demo", fmt.Errorf("bundled lists:%s", joinErrors(rejected)))
	}
	lazarus := strings.ToLower(chain.Addrs[roleLazarus].Hex())
	lists.AddSource(demoChain, lazarus, rules.Source{Entity: "Lazarus Group (demo stand-in)",
		Category: "hack", List: "demo"})

	want := map[string]bool{demoChain + "/mixer": false, demoChain + "/exchange_deposit": false}
	var btc *btcScenario
	btcNote := "off (--bitcoin off)"
	if *btcMode == "auto" {
		var why string
		if btc, why, err = startBitcoinLeg(); err != nil {
			return fail(stderr, "demo", err)
		}
		btcNote = "skipped: " + why
	}
	if btc != nil {
		defer btc.close()
		if err := btc.configure(cfg, lists); err != nil {
			return fail(stderr, "demo", err)
		}
		want[demoBitcoinChain+"/exchange"] = false
		btcNote = fmt.Sprintf("btcd in simnet at %s; watching %s (Andariel stand-in)",
			btc.node.RPCConfig().Host, btc.watched.Addr)
	}
	var out alerting.Notifier = &readable{w: stdout, sc: sc, btc: btc}
	if *asJSON {
		out = file.NewWriter(stdout)
	}
	arrived := &watchFor{next: out, want: want, done: make(chan struct{})}
	if *redisURL != "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		cfg.Redis.Prefix = "fwdemo-" + hex.EncodeToString(b) // a fresh chain: fresh keys
		defer removeKeys(cfg.Redis, cfg.Redis.Prefix, stderr)
	}
	log := newLogger(stderr, zap.WarnLevel, false)
	sys, err := buildSystem(ctx, cfg, deps{stdout: stdout, log: log, lists: lists,
		extra: map[string]alerting.Notifier{"out": arrived}})
	if err != nil {
		return fail(stderr, "demo", err)
	}
	defer sys.close()
	if !*asJSON {
		fmt.Fprintf(stdout, "flowwatch demo: dev chain at %s; watching %s (Lazarus stand-in)\n"+
			"and %d OFAC addresses; %d labels (Tornado Cash pools, Binance hot wallets)\n"+
			"Bitcoin leg: %s\n\n", chain.URL, lazarus, mustLen(lists.Len()),
			labelsLen(lists.Len()), btcNote)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	g, gctx := errgroup.WithContext(runCtx)
	g.Go(func() error { return sys.run(gctx) })
	g.Go(func() error {
		if err := sc.play(gctx); err != nil {
			return err
		}
		if btc != nil {
			if err := btc.play(gctx); err != nil {
				return fmt.Errorf("bitcoin leg: %w", err)
			}
		}
		select { // the scenario has played: wait for its alerts, then stop
		case <-arrived.done:
			stop()
			return nil
		case <-gctx.Done():
			return fmt.Errorf("the scenario's alerts did not all arrive: %w", gctx.Err())
		}
	})
	if err := g.Wait(); err != nil {
		return fail(stderr, "demo", err)
	}
	return exitOK
}

func mustLen(sources, _ int) int  { return sources - 1 }
func labelsLen(_, labels int) int { return labels }

// watchFor passes alerts to next and closes done once an alert has reached each wanted
// "chain/destination category".
type watchFor struct {
	next alerting.Notifier
	mu   sync.Mutex
	want map[string]bool
	done chan struct{}
}

func (w *watchFor) Notify(ctx context.Context, alerts ...alerting.Alert) (bool, error) {
	if retry, err := w.next.Notify(ctx, alerts...); err != nil {
		return retry, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, a := range alerts {
		if _, ok := w.want[a.Chain+"/"+a.Destination.Category]; ok {
			w.want[a.Chain+"/"+a.Destination.Category] = true
		}
	}
	for _, got := range w.want {
		if !got {
			return false, nil
		}
	}
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	return false, nil
}

// removeKeys deletes the demo's Redis keys when it ends.
func removeKeys(c config.Redis, prefix string, stderr io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rdb, err := newRedis(ctx, c)
	if err != nil {
		fmt.Fprintf(stderr, "flowwatch demo: cleaning up %s:*: %v\n", prefix, err)
		return
	}
	defer rdb.Close()
	if err := rediskeys.Delete(ctx, rdb, prefix+":*"); err != nil {
		fmt.Fprintf(stderr, "flowwatch demo: cleaning up %s:*: %v\n", prefix, err)
	}
}
