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
	for n := uint64(1); n <= 10; n++ { // 10 entries
		tip, _ := q.Tip(ctx, ch)
		rec := queue.Record{Number: n, Hash: fmt.Sprint(n), Payloads: [][]byte{[]byte(fmt.Sprint(n))}}
		if err := q.Append(ctx, ch, tip, rec, 3); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := q.Read(ctx, ch, "w", 6, time.Second)
	if err != nil || len(ms) != 6 {
		t.Fatalf("read %d, %v", len(ms), err)
	}
	// Acknowledge 1, 2, 3 and 5: 4 is pending, so only 1..3 may go.
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
	// Everything handed out acknowledged: the undelivered 7.. stay.
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
		got = append(got, string(m.Payloads[0]))
	}
	if strings.Join(got, " ") != "7 8 9 10" {
		t.Fatalf("after trimming, undelivered entries are %v, want 7 8 9 10", got)
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
