package watcher

import (
	"context"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/internal/streamaudit"
	"github.com/flowwatch/flowwatch/watcher/queue"
)

// TestPollerRidesOutRedisOutage: Redis goes away while blocks keep coming (a restart, a
// failover). The poller keeps running through it (Run returns only when cancelled at the
// end), reports the failure in its status, and once Redis is back publishes every block,
// each movement once, where it ended: an outage of the store is waited out like one of
// the node, not the end of the process.
func TestPollerRidesOutRedisOutage(t *testing.T) {
	rdb, proxy, prefix := redistest.CutClient(t)
	q := queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix})
	t.Cleanup(func() { _ = q.Close() })
	h := newHarness(t, q, 0)
	h.transfers(3, 0)
	h.start(0)
	h.waitTip(3)

	proxy.Down(true)
	h.transfers(3, 1)
	for deadline := time.Now().Add(20 * time.Second); h.p.Status().Err == ""; {
		if time.Now().After(deadline) {
			t.Fatal("the poller did not notice the outage")
		}
		time.Sleep(2 * time.Millisecond) // polling a condition with a deadline
	}
	proxy.Down(false)
	h.waitTip(6)
	want := h.canonical(1, 6)
	sameKeys(t, h.drain(len(want)), want)
	if s := h.p.Status(); s.Err != "" {
		t.Errorf("status after the outage: %q", s.Err)
	}
	if err := h.stop(); err != nil { // Run ended before it was cancelled
		t.Errorf("the poller ended: %v", err)
	}
}

// TestPollerReorgAudited: after a reorg the stream holds the orphaned blocks' movements,
// then the same published as removed, then the new branch's; counted in the blocks they
// were published in (streamaudit.Audit, as the kill test and the soak run count them),
// each movement of the chain is in it once and none is left standing in an orphaned
// block.
func TestPollerReorgAudited(t *testing.T) {
	rdb, prefix := redistest.New(t)
	q := queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix})
	t.Cleanup(func() { _ = q.Close() })
	h := newHarness(t, q, 0)
	h.transfers(4, 0)
	h.start(0)
	h.waitTip(4)
	h.fork(2)
	h.transfers(4, 3) // blocks 3'..6'
	h.waitTip(6)
	res, err := streamaudit.Audit(context.Background(), rdb, prefix, "dev", h.src, 1, 6)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) == 0 || len(res.Missing) > 0 || len(res.Doubled) > 0 ||
		len(res.Stale) > 0 {
		t.Errorf("audit: %d removed (want some), missing %v, doubled %v, stale %v",
			len(res.Removed), res.Missing, res.Doubled, res.Stale)
	}
	if res.Published != res.Chain {
		t.Errorf("%d published net of removals, want the chain's %d", res.Published,
			res.Chain)
	}
}
