package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/watcher/config"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const synopsis = "run --config FILE [--workers N]\n\n" +
		"Runs a poller per configured chain, rules workers and the alerting pipeline until\n" +
		"SIGINT or SIGTERM; then it finishes the entries in hand, acknowledges them and\n" +
		"exits 0. Logs are JSON lines on stderr."
	fs := newFlagSet("run", synopsis, stderr)
	path := fs.String("config", "", "config `file` (see configs/flowwatch.example.yaml)")
	workers := fs.Int("workers", 0, "rules workers in this process (default: the config's)")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	if *path == "" {
		return usageError(stderr, "run", "--config is required")
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return fail(stderr, "run", err)
	}
	if *workers < 0 {
		return usageError(stderr, "run", "--workers %d: want at least 1", *workers)
	}
	if *workers > 0 {
		cfg.Workers = *workers
	}
	log := newLogger(stderr, zap.InfoLevel, true)
	defer func() { _ = log.Sync() }()
	lists, rejected, err := loadLists(cfg, nil)
	if err != nil {
		return fail(stderr, "run", err)
	}
	for _, e := range rejected {
		log.Warn("list entry rejected", zap.Error(e))
	}
	sources, labels := lists.Len()
	log.Info("lists loaded", zap.Int("sources", sources), zap.Int("labels", labels),
		zap.Int("rejected", len(rejected)))
	live := watchlist.NewLive(lists)
	sys, err := buildSystem(ctx, cfg, deps{stdout: stdout, log: log, lists: lists, live: live,
		redisWait: redisStartWait})
	if err != nil {
		return fail(stderr, "run", err)
	}
	defer sys.close()
	// SIGHUP, or a changed list file, reloads the lists without stopping the pipeline.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	sys.extra = append(sys.extra, newReloader(cfg, live, hup, log).Run)
	log.Info("running", zap.Int("chains", len(cfg.Chains)), zap.Int("workers", cfg.Workers),
		zap.Bool("redis", cfg.Redis.URL != ""))
	if err := sys.run(ctx); err != nil {
		return fail(stderr, "run", err)
	}
	log.Info("stopped")
	return exitOK
}
