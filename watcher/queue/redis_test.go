package queue_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/queue"
	"github.com/flowwatch/flowwatch/watcher/queue/queuetest"
)

func TestRedis(t *testing.T) {
	rdb := redistest.Client(t)
	queuetest.Run(t, func(t *testing.T) queuetest.Queue {
		return queue.NewRedis(rdb, queue.RedisOptions{Prefix: redistest.Prefix(t, rdb)})
	})
}

// TestRedisForeignEntries: an entry an earlier version wrote (one payload in field "m") is
// read as one payload; one that no version wrote is handed out with Err set, naming it, so
// that the consumer can log and acknowledge it instead of stalling the stream.
func TestRedisForeignEntries(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	q := queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix})
	const ch = "foreign"
	for _, values := range []map[string]any{{"m": "legacy"}, {"b": "\x09junk"}, {"x": "y"}} {
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.StreamKey(ch),
			Values: values}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := q.Read(ctx, ch, "w", 10, time.Second)
	if err != nil || len(ms) != 3 {
		t.Fatalf("read %d entries, %v", len(ms), err)
	}
	if ms[0].Err != nil || len(ms[0].Payloads) != 1 || string(ms[0].Payloads[0]) != "legacy" {
		t.Fatalf("legacy entry: %q, %v", ms[0].Payloads, ms[0].Err)
	}
	for _, m := range ms[1:] {
		if m.Err == nil || !strings.Contains(m.Err.Error(), m.ID) {
			t.Fatalf("entry %s: error %v, want one naming it", m.ID, m.Err)
		}
	}
}

// TestRedisBacklogDrift: when Redis's count of the entries a group read drifts (as after
// an append-only-file reload), the backlog is what the stream holds past the group's last
// delivered entry, not the group's reported lag.
func TestRedisBacklogDrift(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	q := queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix})
	const ch = "drift"
	var tip queue.Tip
	for n := uint64(1); n <= 5; n++ {
		rec := queue.Record{Number: n, Hash: fmt.Sprint("h", n),
			ParentHash: fmt.Sprint("h", n-1), Payloads: [][]byte{{byte(n)}}}
		if err := q.Append(ctx, ch, tip, rec, 10); err != nil {
			t.Fatal(err)
		}
		tip = queue.Tip{Number: n, Hash: rec.Hash, Valid: true}
	}
	ms, err := q.Read(ctx, ch, "w", 3, time.Millisecond)
	if err != nil || len(ms) != 3 {
		t.Fatalf("read %d: %v", len(ms), err)
	}
	if n, err := q.Backlog(ctx, ch); err != nil || n != 5 { // 3 pending, 2 unread
		t.Fatalf("backlog %d, %v; want 5", n, err)
	}
	if err := q.Ack(ctx, ch, ms[0].ID, ms[1].ID, ms[2].ID); err != nil {
		t.Fatal(err)
	}
	if ms, err = q.Read(ctx, ch, "w", 10, time.Millisecond); err != nil || len(ms) != 2 {
		t.Fatalf("read the rest: %d, %v", len(ms), err)
	}
	if err := q.Ack(ctx, ch, ms[0].ID, ms[1].ID); err != nil {
		t.Fatal(err)
	}
	// The counter drifts: Redis now reports a lag though every entry was delivered.
	stream := q.StreamKey(ch)
	if err := rdb.Do(ctx, "XGROUP", "SETID", stream, "rules", ms[1].ID, "ENTRIESREAD",
		0).Err(); err != nil {
		t.Fatal(err)
	}
	gs, err := rdb.XInfoGroups(ctx, stream).Result()
	if err != nil || len(gs) != 1 || gs[0].Lag == 0 {
		t.Fatalf("the drift did not show: %+v, %v", gs, err)
	}
	if n, err := q.Backlog(ctx, ch); err != nil || n != 0 {
		t.Fatalf("backlog %d, %v after the drift; want 0", n, err)
	}
}
