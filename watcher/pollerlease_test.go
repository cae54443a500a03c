package watcher

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sync/errgroup"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/internal/streamaudit"
	"github.com/flowwatch/flowwatch/watcher/queue"
)

// pausing is a node that, once, holds a request for block `at` until resume says so: a
// poller stalled (a long GC pause, a hung connection) past its lease.
type pausing struct {
	chains.Source
	at     uint64
	resume func() bool
	once   sync.Once
}

func (s *pausing) Block(ctx context.Context, n uint64) (*chains.Block, error) {
	if n == s.at {
		s.once.Do(func() {
			deadline := time.Now().Add(30 * time.Second)
			for !s.resume() && time.Now().Before(deadline) && ctx.Err() == nil {
				time.Sleep(time.Millisecond) // polling a condition with a deadline
			}
		})
	}
	return s.Source.Block(ctx, n)
}

// TestPollerLeaseHandsOver runs two pollers of one chain, each with its own fenced journal,
// as two flowwatch processes do. One publishes, the other stands by. The publisher stalls
// fetching a block past its lease: the standby takes the chain over and publishes on; the
// stalled one, resumed, finds its lease lost and writes nothing. Then the new publisher
// stops and the first takes the chain back at once (the lease is released). Every
// movement of the chain is in the stream exactly once.
func TestPollerLeaseHandsOver(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	q := queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix})
	h := newHarness(t, q, 0)
	h.transfers(3, 0)
	logs, seen := observer.New(zapcore.InfoLevel)
	type running struct {
		p    *Poller
		stop func() error
	}
	start := func(holder string, src chains.Source) running {
		log := zap.New(zapcore.NewTee(zaptest.NewLogger(t).Core(), logs)).With(
			zap.String("holder", holder))
		p, err := NewPoller(src, q.Fenced(holder), nil, PollerOptions{Chain: "dev",
			StartBlock: 1, PollInterval: 5 * time.Millisecond, Depth: 16, Batch: 4,
			Lease: q, Holder: holder, LeaseTTL: 300 * time.Millisecond, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(ctx)
		g, ctx := errgroup.WithContext(ctx)
		g.Go(func() error { return p.Run(ctx) })
		stop := func() error {
			cancel()
			if err := g.Wait(); err != context.Canceled {
				return err
			}
			return nil
		}
		t.Cleanup(func() { _ = stop() })
		return running{p, stop}
	}
	active := func(r running) bool { return !r.p.Status().Standby }

	var b running
	stall := &pausing{Source: h.src, at: 5,
		resume: func() bool { return b.p != nil && active(b) }}
	a := start("a", stall)
	h.waitTip(3)
	b = start("b", h.src)
	waitUntil(t, "b standing by", func() bool { return b.p.Status().Standby })
	if !active(a) {
		t.Fatal("a published, and is on standby")
	}

	h.transfers(4, 1) // a stalls at block 5; b takes over
	h.waitTip(7)
	waitUntil(t, "a standing by after its stall", func() bool { return a.p.Status().Standby })
	if n := len(seen.FilterMessageSnippet("lost the chain's poller lease").
		FilterField(zap.String("holder", "a")).All()); n == 0 {
		t.Error("a never found its lease lost: the stall tested nothing")
	}

	if err := b.stop(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a publishing again", func() bool { return active(a) })
	h.transfers(2, 2)
	h.waitTip(9)

	res, err := streamaudit.Audit(ctx, rdb, prefix, "dev", h.src, 1, 9)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Missing)+len(res.Doubled)+len(res.Stale) > 0 || res.Published != res.Chain {
		t.Fatalf("stream: %d movements of the chain's %d; missing %v, doubled %v, stale %v",
			res.Published, res.Chain, res.Missing, res.Doubled, res.Stale)
	}
	if n := len(seen.FilterMessageSnippet("took the chain's poller lease over").All()); n < 2 {
		t.Errorf("%d take-overs logged, want 2 (b from a, a from b)", n)
	}
}
