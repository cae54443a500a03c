package watcher

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"golang.org/x/sync/errgroup"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/ethereum"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/queue"
)

type testQueue interface {
	queue.Journal
	queue.Consumer
}

// queues returns the implementations the poller is tested with: in memory, and Redis at
// REDIS_URL (default 127.0.0.1:6379) under a key prefix of the test's own.
func queues(t *testing.T) map[string]func(t *testing.T) testQueue {
	return map[string]func(t *testing.T) testQueue{
		"memory": func(t *testing.T) testQueue { return queue.NewMemory(nil) },
		"redis": func(t *testing.T) testQueue {
			rdb, prefix := redistest.New(t)
			return queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix})
		},
	}
}

// devChain starts a simulated chain and a source on it (chain "dev", no traces, short
// back-off), both stopped when the test ends.
func devChain(t *testing.T) (*devnet.Chain, *ethereum.Source) {
	t.Helper()
	return devChainTraced(t, false)
}

// devChainTraced is devChain, with call traces served and read when traced.
func devChainTraced(t *testing.T, traced bool) (*devnet.Chain, *ethereum.Source) {
	t.Helper()
	c, err := devnet.Start(devnet.Options{Tracers: traced})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	mode := ethereum.TracesOff
	if traced {
		mode = ethereum.TracesOn
	}
	src, err := ethereum.Dial(context.Background(), c.URL, ethereum.Options{Chain: "dev",
		Traces: mode, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
		Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	return c, src
}

type harness struct {
	t     *testing.T
	chain *devnet.Chain
	src   *ethereum.Source
	q     testQueue
	p     *Poller // the one start started last
	stop  func() error
}

func newHarness(t *testing.T, q testQueue, confirmations uint64) *harness {
	t.Helper()
	c, src := devChain(t)
	return &harness{t: t, chain: c, src: src, q: q}
}

func (h *harness) start(confirmations uint64) {
	h.startWith(h.q, func(o *PollerOptions) { o.Confirmations = confirmations })
}

// startWith starts a poller whose options options changed, watching backlog for
// back-pressure (nil: none).
func (h *harness) startWith(backlog backlogReader, options func(*PollerOptions)) {
	opts := PollerOptions{Chain: "dev", StartBlock: 1, PollInterval: 5 * time.Millisecond,
		Depth: 16, Batch: 4, Inflight: 3, Logger: zaptest.NewLogger(h.t)}
	options(&opts)
	p, err := NewPoller(h.src, h.q, backlog, opts)
	if err != nil {
		h.t.Fatal(err)
	}
	h.p = p
	ctx, cancel := context.WithCancel(context.Background())
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return p.Run(ctx) })
	h.stop = func() error {
		cancel()
		if err := g.Wait(); err != context.Canceled {
			return err
		}
		return nil
	}
	h.t.Cleanup(func() { _ = h.stop() })
}

// transfers makes n blocks with one or two transfers each.
func (h *harness) transfers(n int, from int) {
	h.t.Helper()
	ctx := context.Background()
	for i := range n {
		k := h.chain.Keys[from]
		for j := range 1 + i%2 {
			to := h.chain.Addrs[(from+1+j)%len(h.chain.Addrs)]
			if _, err := h.chain.Submit(ctx, devnet.Tx{Key: k, To: &to,
				Value: big.NewInt(int64(1000*i + j + 1))}); err != nil {
				h.t.Fatal(err)
			}
		}
		h.chain.Commit()
	}
}

// waitTip waits until the cursor is at block n with the node's hash for it.
func (h *harness) waitTip(n uint64) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		tip, err := h.q.Tip(context.Background(), "dev")
		if err != nil {
			h.t.Fatal(err)
		}
		if tip.Valid && tip.Number == n {
			ref, err := h.src.Ref(context.Background(), n)
			if err == nil && ref.Hash == tip.Hash {
				return
			}
		}
		time.Sleep(2 * time.Millisecond) // polling a condition with a deadline
	}
	tip, _ := h.q.Tip(context.Background(), "dev")
	h.t.Fatalf("cursor at %+v, want block %d", tip, n)
}

// fork makes the node's chain go on from its block n: the blocks after it are orphaned
// once the new branch is longer.
func (h *harness) fork(n uint64) {
	h.t.Helper()
	ancestor, err := h.src.Ref(context.Background(), n)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.chain.Fork(hexHash(ancestor.Hash)); err != nil {
		h.t.Fatal(err)
	}
}

// canonical returns the node's movements for blocks from..to.
func (h *harness) canonical(from, to uint64) []chains.Movement {
	var out []chains.Movement
	if err := chains.Stream(context.Background(), h.src, from, to, 2, func(b *chains.Block) error {
		out = append(out, b.Movements...)
		return nil
	}); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// drain reads every entry published so far (the cursor is settled) and acknowledges it.
func (h *harness) drain(want int) []chains.Movement {
	h.t.Helper()
	var out []chains.Movement
	deadline := time.Now().Add(10 * time.Second)
	for len(out) < want && time.Now().Before(deadline) {
		ms, err := h.q.Read(context.Background(), "dev", "test", 100, 50*time.Millisecond)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, m := range ms {
			if m.Err != nil {
				h.t.Fatal(m.Err)
			}
			for _, p := range m.Payloads {
				mv, err := chains.UnmarshalMovement(p)
				if err != nil {
					h.t.Fatal(err)
				}
				out = append(out, mv)
			}
			if err := h.q.Ack(context.Background(), "dev", m.ID); err != nil {
				h.t.Fatal(err)
			}
		}
	}
	if extra, _ := h.q.Read(context.Background(), "dev", "test", 100, time.Millisecond); len(extra) > 0 {
		h.t.Fatalf("%d entries more than the %d movements expected", len(extra), want)
	}
	return out
}

func keys(ms []chains.Movement) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%d %s %s removed=%v %s", m.Block.Number, m.Block.Hash[:10],
			m.Key(), m.Removed, m.Inputs[0].Amount)
	}
	return out
}

func sameKeys(t *testing.T, got, want []chains.Movement) {
	t.Helper()
	g, w := keys(got), keys(want)
	if !slices.Equal(g, w) {
		t.Fatalf("got %d movements:\n%s\nwant %d:\n%s", len(g), fmt.Sprint(g), len(w),
			fmt.Sprint(w))
	}
}

// TestPollerFollows catches up from block 1, then follows new blocks at 2 confirmations,
// and publishes exactly the node's movements, each once, in block order.
func TestPollerFollows(t *testing.T) {
	for name, newQueue := range queues(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, newQueue(t), 2)
			h.transfers(9, 0)
			h.start(2)
			h.waitTip(7)
			h.transfers(4, 1)
			h.waitTip(11)
			want := h.canonical(1, 11)
			sameKeys(t, h.drain(len(want)), want)
			if err := h.stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestPollerReorg orphans two published blocks with the simulated backend's Fork, builds a
// longer branch, and wants the orphaned movements published as removed (newest first,
// before the new branch's), then the new branch, and the cursor on the new head.
func TestPollerReorg(t *testing.T) {
	for name, newQueue := range queues(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, newQueue(t), 0)
			h.transfers(4, 0)
			h.start(0)
			h.waitTip(4)
			old := h.canonical(1, 4)
			h.fork(2)
			h.transfers(4, 3) // blocks 3'..6' from other senders
			h.waitTip(6)
			var orphaned []chains.Movement
			for _, m := range slices.Backward(old) {
				if m.Block.Number > 2 {
					m.Removed = true
					orphaned = append(orphaned, m)
				}
			}
			want := append(append(old, orphaned...), h.canonical(3, 6)...)
			sameKeys(t, h.drain(len(want)), want)
		})
	}
}

// TestPollerReorgWhileDown stops the poller, reorgs to a longer branch while it is down,
// and starts a new poller on the same journal: it resumes from the stored cursor, sees
// that the next block's parent is not the published tip, and rolls back before going on.
func TestPollerReorgWhileDown(t *testing.T) {
	for name, newQueue := range queues(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, newQueue(t), 0)
			h.transfers(5, 0)
			h.start(0)
			h.waitTip(5)
			if err := h.stop(); err != nil {
				t.Fatal(err)
			}
			old := h.canonical(1, 5)
			h.fork(3)
			h.transfers(5, 4) // blocks 4'..8'
			h.start(0)
			h.waitTip(8)
			var orphaned []chains.Movement
			for _, m := range slices.Backward(old) {
				if m.Block.Number > 3 {
					m.Removed = true
					orphaned = append(orphaned, m)
				}
			}
			want := append(append(old, orphaned...), h.canonical(4, 8)...)
			sameKeys(t, h.drain(len(want)), want)
		})
	}
}
