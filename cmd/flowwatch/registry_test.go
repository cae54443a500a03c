package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap/zaptest"

	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/config"
	"github.com/flowwatch/flowwatch/watcher/deposit"
)

// TestBuildRegistryReadsFirst: the registry that flowwatch run and serve build holds the
// deposit addresses registered before they started, before anything runs. Its sync loop
// runs beside the workers; a worker that judged its backlog before that loop's first read
// took a registered address for a fresh wallet, and the deposit alert was lost. A Redis
// that does not answer fails the start, naming the registry.
func TestBuildRegistryReadsFirst(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	g := deposit.Registration{Chain: "ethereum",
		Address: "0x1111111111111111111111111111111111111111", Customer: "c-42",
		At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := deposit.NewRegistry(rdb, prefix).Put(ctx, g); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Redis: config.Redis{Prefix: prefix}}
	s := &system{}
	reg, err := s.buildRegistry(ctx, cfg, rdb, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := reg.Get(g.Chain, g.Address); !ok || got != g {
		t.Errorf("registry before it runs: %+v, %v; want %+v", got, ok, g)
	}
	if len(s.extra) != 1 {
		t.Errorf("%d loops to run, want the registry's sync", len(s.extra))
	}

	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = down.Close() })
	_, err = (&system{}).buildRegistry(ctx, cfg, down, zaptest.NewLogger(t))
	if err == nil || !strings.Contains(err.Error(), "deposit registry") {
		t.Errorf("registry in a Redis that does not answer: %v, want its error", err)
	}
}
