package watcher

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/chains"
)

// waitPoller waits until cond holds of the poller's status; it fails the test after 20 s.
func (h *harness) waitPoller(what string, cond func(PollerStatus) bool) {
	h.t.Helper()
	waitUntil(h.t, what, func() bool { return cond(h.p.Status()) })
}

// waitUntil waits until cond holds; it fails the test, saying what was awaited, after 20 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not in 20 s", what)
		}
		time.Sleep(2 * time.Millisecond) // polling a condition with a deadline
	}
}

// TestPollerReorgDeeperThanKept: a reorg deeper than the blocks whose records the journal
// keeps (Depth) cannot be undone, since the orphaned movements published before them can no
// longer be named: the poller stops with an error that says so, and publishes nothing of
// the new branch.
func TestPollerReorgDeeperThanKept(t *testing.T) {
	for name, newQueue := range queues(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, newQueue(t), 0)
			h.transfers(6, 0)
			h.startWith(h.q, func(o *PollerOptions) { o.Depth = 3 })
			h.waitTip(6)
			h.fork(1) // orphans blocks 2..6: five, where three are kept
			h.transfers(7, 3)
			h.waitPoller("stopped", func(s PollerStatus) bool {
				return strings.Contains(s.Err, "reorg deeper than the 3 blocks kept")
			})
			err := h.stop()
			if err == nil || !strings.Contains(err.Error(), "reorg deeper than the 3 blocks kept") {
				t.Fatalf("run: %v", err)
			}
			tip, err := h.q.Tip(context.Background(), "dev")
			if err != nil || tip.Number != 6 {
				t.Fatalf("tip %+v (%v), want block 6 of the old branch, left as it was", tip, err)
			}
		})
	}
}

// TestPollerReorgOfAllPublished: a reorg that orphans every block published so far, back
// to the block before the start, rolls all of them back and publishes the new branch from
// the start block.
func TestPollerReorgOfAllPublished(t *testing.T) {
	for name, newQueue := range queues(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, newQueue(t), 0)
			h.transfers(3, 0)
			h.startWith(h.q, func(o *PollerOptions) { o.StartBlock = 2 })
			h.waitTip(3)
			old := h.canonical(2, 3)
			h.fork(1)
			h.transfers(4, 3) // blocks 2'..5'
			h.waitTip(5)
			var orphaned []chains.Movement
			for _, m := range slices.Backward(old) {
				m.Removed = true
				orphaned = append(orphaned, m)
			}
			want := append(append(old, orphaned...), h.canonical(2, 5)...)
			sameKeys(t, h.drain(len(want)), want)
		})
	}
}

// countingBacklog counts the poller's looks at the backlog.
type countingBacklog struct {
	backlogReader
	looks atomic.Int64
}

func (c *countingBacklog) Backlog(ctx context.Context, chain string) (int64, error) {
	c.looks.Add(1)
	return c.backlogReader.Backlog(ctx, chain)
}

// TestPollerBackPressure: while the consumers have more than MaxBacklog entries to do, the
// poller publishes nothing more; once they catch up it goes on, and the stream holds every
// movement once, in order.
func TestPollerBackPressure(t *testing.T) {
	for name, newQueue := range queues(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, newQueue(t), 0)
			h.transfers(10, 0)
			backlog := &countingBacklog{backlogReader: h.q}
			h.startWith(backlog, func(o *PollerOptions) {
				o.MaxBacklog, o.Batch, o.AppendBlocks = 2, 1, 1
			})
			ctx := context.Background()
			// No one consumes: the poller stops at the third entry and keeps looking.
			var stalled uint64
			waitUntil(t, "the backlog past 2", func() bool {
				n, err := h.q.Backlog(ctx, "dev")
				if err != nil || n <= 2 {
					return false
				}
				tip, _ := h.q.Tip(ctx, "dev")
				stalled = tip.Number
				return true
			})
			seen := backlog.looks.Load() // 20 more looks, each a poll interval apart
			waitUntil(t, "20 more looks at the backlog", func() bool {
				return backlog.looks.Load() >= seen+20
			})
			if tip, _ := h.q.Tip(ctx, "dev"); tip.Number != stalled || stalled >= 10 {
				t.Fatalf("published up to block %d while the backlog was over 2 (from %d)",
					tip.Number, stalled)
			}
			want := h.canonical(1, 10)
			sameKeys(t, h.drain(len(want)), want) // consuming lets it go on
			h.waitTip(10)
		})
	}
}
