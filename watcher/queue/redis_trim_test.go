package queue_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/queue"
)

// TestRedisTrim shows that trimming removes acknowledged entries only: never one that is
// pending (handed out, not acknowledged) or not yet handed out.
func TestRedisTrim(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	q := queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix})
	const ch = "trimchain"
	for n := uint64(1); n <= 5; n++ { // 10 entries
		tip, _ := q.Tip(ctx, ch)
		rec := queue.Record{Number: n, Hash: fmt.Sprint(n),
			Payloads: [][]byte{[]byte(fmt.Sprintf("%da", n)), []byte(fmt.Sprintf("%db", n))}}
		if err := q.Append(ctx, ch, tip, rec, 3); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := q.Read(ctx, ch, "w", 6, time.Second)
	if err != nil || len(ms) != 6 {
		t.Fatalf("read %d, %v", len(ms), err)
	}
	// Acknowledge 1a, 1b, 2a and 3a: 2b is pending, so only 1a..2a may go.
	if err := q.Ack(ctx, ch, ms[0].ID, ms[1].ID, ms[2].ID, ms[4].ID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		keep    int64
		wantLen int64
	}{
		{"keep budget larger than the stream", 100, 10},
		{"trim to the oldest pending entry", 0, 7},
		{"again: nothing more to drop", 0, 7},
	}
	for _, tt := range tests {
		if _, err := q.Trim(ctx, ch, tt.keep); err != nil {
			t.Fatal(err)
		}
		if n := rdb.XLen(ctx, q.StreamKey(ch)).Val(); n != tt.wantLen {
			t.Fatalf("%s: stream has %d entries, want %d", tt.name, n, tt.wantLen)
		}
	}
	// Everything handed out acknowledged: the undelivered 4a.. stay.
	if err := q.Ack(ctx, ch, ms[3].ID, ms[5].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Trim(ctx, ch, 0); err != nil {
		t.Fatal(err)
	}
	rest, err := q.Read(ctx, ch, "w", 10, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range rest {
		got = append(got, string(m.Payload))
	}
	if strings.Join(got, " ") != "4a 4b 5a 5b" {
		t.Fatalf("after trimming, undelivered entries are %v, want 4a 4b 5a 5b", got)
	}
	// Every key of the chain carries its hash tag (one Redis Cluster slot).
	keys, err := rdb.Keys(ctx, prefix+":*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix+":{"+ch+"}:") {
			t.Fatalf("key %s lacks the chain's hash tag", k)
		}
	}
}
