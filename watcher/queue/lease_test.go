package queue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/queue"
)

// TestPollerLease: one holder at a time; the holder renews; a journal fenced by a holder
// that lost the lease writes nothing, appends and rollbacks alike, even with the right
// cursor, and the new holder carries on from the cursor.
func TestPollerLease(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	q := queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix})
	const ch = "eth"
	lease := func(holder string, ttl time.Duration) bool {
		t.Helper()
		ok, err := q.LeasePoller(ctx, ch, holder, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	rec := func(n uint64) queue.Record {
		return queue.Record{Number: n, Hash: "h" + string(rune('0'+n)),
			ParentHash: "h" + string(rune('0'+n-1)), Payloads: [][]byte{{byte(n)}}}
	}
	tipOf := func(n uint64) queue.Tip { r := rec(n); return r.Tip() }
	a, b := q.Fenced("a"), q.Fenced("b")
	if !lease("a", time.Minute) || lease("b", time.Minute) || !lease("a", time.Minute) {
		t.Fatal("a should hold the lease, and renew it; b should not get it")
	}
	if err := a.Append(ctx, ch, queue.Tip{}, rec(1), 10); err != nil {
		t.Fatal(err)
	}
	tip := tipOf(1)
	if err := b.Append(ctx, ch, tip, rec(2), 10); !errors.Is(err, queue.ErrFenced) {
		t.Fatalf("b appended without the lease: %v", err)
	}
	// a pauses past its lease; b takes the chain over and appends.
	if err := rdb.PExpire(ctx, q.PollerLeaseKey(ch), time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !lease("b", time.Minute); {
		if time.Now().After(deadline) {
			t.Fatal("b never got the expired lease")
		}
		time.Sleep(time.Millisecond) // polling a condition with a deadline
	}
	if err := b.Append(ctx, ch, tip, rec(2), 10); err != nil {
		t.Fatal(err)
	}
	// a wakes up: with the cursor it had, or the current one, it writes nothing.
	for _, expect := range []queue.Tip{tip, tipOf(2)} {
		if err := a.AppendBlocks(ctx, ch, expect, []queue.Record{rec(expect.Number + 1)},
			10); !errors.Is(err, queue.ErrFenced) {
			t.Fatalf("a appended after losing the lease: %v", err)
		}
	}
	if err := a.Rollback(ctx, ch, tipOf(2), tip, [][]byte{{9}}); !errors.Is(err,
		queue.ErrFenced) {
		t.Fatalf("a rolled back after losing the lease: %v", err)
	}
	if got, err := q.Tip(ctx, ch); err != nil || got != tipOf(2) {
		t.Fatalf("cursor %+v, %v; want block 2", got, err)
	}
	if n, _ := rdb.XLen(ctx, q.StreamKey(ch)).Result(); n != 2 {
		t.Fatalf("%d stream entries, want 2", n)
	}
	if err := q.ReleasePoller(ctx, ch, "a"); err != nil || !lease("b", time.Minute) {
		t.Fatal("a released b's lease")
	}
	if err := q.ReleasePoller(ctx, ch, "b"); err != nil || !lease("a", time.Minute) {
		t.Fatal("b's release did not free the lease")
	}
}
