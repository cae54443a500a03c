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
	appendNumbered(t, q, ch, 10)
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
		{"keep the newest 8, from before the oldest pending entry", 8, 8},
		{"keep the newest 2: the oldest pending entry stays too", 2, 7},
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

// TestRedisJudged shows that Judged reads back acknowledged entries only, newest first,
// page by page: never one that is pending or not yet handed out, nor one after them.
func TestRedisJudged(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	q := queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix})
	const ch = "judgedchain"
	judged := func(before string, count int) string { // their payloads, in order
		t.Helper()
		ms, err := q.Judged(ctx, ch, before, count)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range ms {
			if m.Err != nil {
				t.Fatal(m.Err)
			}
			got = append(got, string(m.Payloads[0]))
		}
		return strings.Join(got, " ")
	}
	if got := judged("", 10); got != "" {
		t.Fatalf("a new stream: judged %q, want none", got)
	}
	appendNumbered(t, q, ch, 10)
	if got := judged("", 10); got != "" {
		t.Fatalf("nothing handed out: judged %q, want none", got)
	}
	ms, err := q.Read(ctx, ch, "w", 6, time.Second)
	if err != nil || len(ms) != 6 {
		t.Fatalf("read %d, %v", len(ms), err)
	}
	if got := judged("", 10); got != "" {
		t.Fatalf("all handed out pending: judged %q, want none", got)
	}
	// Acknowledge 1, 2, 3 and 5: 4 is pending, so 3, 2, 1 are the judged ones before it.
	if err := q.Ack(ctx, ch, ms[0].ID, ms[1].ID, ms[2].ID, ms[4].ID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		before func() string
		count  int
		want   string
	}{
		{"before what is pending", func() string { return "" }, 10, "3 2 1"},
		{"a page", func() string { return "" }, 2, "3 2"},
		{"the next page", func() string { return ms[1].ID }, 2, "1"},
		{"past the oldest", func() string { return ms[0].ID }, 2, ""},
	}
	for _, tt := range tests {
		if got := judged(tt.before(), tt.count); got != tt.want {
			t.Errorf("%s: judged %q, want %q", tt.name, got, tt.want)
		}
	}
	// All handed out acknowledged: the judged ones end before 7, not handed out yet.
	if err := q.Ack(ctx, ch, ms[3].ID, ms[5].ID); err != nil {
		t.Fatal(err)
	}
	if got := judged("", 10); got != "6 5 4 3 2 1" {
		t.Errorf("all handed out acknowledged: judged %q, want 6 5 4 3 2 1", got)
	}
	// Trimmed entries are gone from what can be read back.
	if _, err := q.Trim(ctx, ch, 0); err != nil {
		t.Fatal(err)
	}
	if got := judged("", 10); got != "" {
		t.Errorf("after trimming: judged %q, want none", got)
	}
	// Every entry acknowledged, none left: the judged ones are all there are.
	rest, err := q.Read(ctx, ch, "w", 10, time.Second)
	if err != nil || len(rest) != 4 {
		t.Fatalf("read %d, %v", len(rest), err)
	}
	for _, m := range rest {
		if err := q.Ack(ctx, ch, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got := judged("", 10); got != "10 9 8 7" {
		t.Errorf("everything acknowledged: judged %q, want 10 9 8 7", got)
	}
}

// appendNumbered appends blocks 1 to n to ch, one entry each, whose payload is its number.
func appendNumbered(t *testing.T, q *queue.Redis, ch string, n uint64) {
	t.Helper()
	ctx := context.Background()
	for b := uint64(1); b <= n; b++ {
		tip, _ := q.Tip(ctx, ch)
		rec := queue.Record{Number: b, Hash: fmt.Sprint(b),
			Payloads: [][]byte{[]byte(fmt.Sprint(b))}}
		if err := q.Append(ctx, ch, tip, rec, 3); err != nil {
			t.Fatal(err)
		}
	}
}
