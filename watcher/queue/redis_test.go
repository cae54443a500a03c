package queue_test

import (
	"context"
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
