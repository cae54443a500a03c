package queuetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/watcher/queue"
)

// Queue is what the suite exercises: both sides of a queue.
type Queue interface {
	queue.Journal
	queue.Consumer
	queue.Owners
}

// Run runs the suite. newQueue returns an empty queue for one subtest.
func Run(t *testing.T, newQueue func(t *testing.T) Queue) {
	tests := []struct {
		name string
		run  func(t *testing.T, q Queue)
	}{
		{"append then read in order", testAppendRead},
		{"cursor compare-and-set", testCursorCAS},
		{"records kept to depth", testRecords},
		{"binary payloads byte for byte", testBinaryPayloads},
		{"a large block split into entries", testLargeBlock},
		{"several blocks in one call", testAppendBlocks},
		{"rollback", testRollback},
		{"ordering per chain", testOrderingPerChain},
		{"consumer killed mid-batch", testKilledConsumer},
		{"back-pressure and blocking read", testBackPressure},
		{"concurrent appenders", testConcurrentAppend},
		{"one owner per chain", testOwners},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newQueue(t)) })
	}
}

const chain = "testchain"

func record(n uint64, payloads ...string) queue.Record {
	r := queue.Record{Number: n, Hash: fmt.Sprintf("0xh%d", n),
		ParentHash: fmt.Sprintf("0xh%d", n-1)}
	for _, p := range payloads {
		r.Payloads = append(r.Payloads, []byte(p))
	}
	return r
}

// appendBlocks appends blocks from..to, each with payloads "<n>a" and "<n>b": one entry.
func appendBlocks(t *testing.T, q Queue, ch string, from, to uint64) {
	t.Helper()
	ctx := context.Background()
	for n := from; n <= to; n++ {
		tip, err := q.Tip(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Append(ctx, ch, tip, record(n, fmt.Sprintf("%da", n), fmt.Sprintf("%db", n)),
			3); err != nil {
			t.Fatal(err)
		}
	}
}

// readAll reads until want entries arrived or the deadline passed.
func readAll(t *testing.T, q Queue, ch, consumer string, want int) []queue.Message {
	t.Helper()
	var out []queue.Message
	deadline := time.Now().Add(10 * time.Second)
	for len(out) < want && time.Now().Before(deadline) {
		ms, err := q.Read(context.Background(), ch, consumer, want-len(out), 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ms...)
	}
	if len(out) != want {
		t.Fatalf("read %d entries, want %d", len(out), want)
	}
	return out
}

// payloads returns the entries' payloads in order; an entry that failed to decode fails
// the test.
func payloads(t *testing.T, ms []queue.Message) []string {
	t.Helper()
	var out []string
	for _, m := range ms {
		if m.Err != nil {
			t.Fatal(m.Err)
		}
		for _, p := range m.Payloads {
			out = append(out, string(p))
		}
	}
	return out
}

func ids(ms []queue.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func wantStrings(t *testing.T, got []string, want ...string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func wantBacklog(t *testing.T, q Queue, ch string, want int64) {
	t.Helper()
	n, err := q.Backlog(context.Background(), ch)
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("backlog %d, want %d", n, want)
	}
}

func testAppendRead(t *testing.T, q Queue) {
	ctx := context.Background()
	if tip, err := q.Tip(ctx, chain); err != nil || tip.Valid {
		t.Fatalf("new queue has tip %+v, %v", tip, err)
	}
	appendBlocks(t, q, chain, 1, 3)
	tip, err := q.Tip(ctx, chain)
	if err != nil || tip != (queue.Tip{Number: 3, Hash: "0xh3", Valid: true}) {
		t.Fatalf("tip %+v, %v", tip, err)
	}
	ms := readAll(t, q, chain, "w1", 3)
	wantStrings(t, payloads(t, ms), "1a", "1b", "2a", "2b", "3a", "3b")
	for _, m := range ms {
		if m.Chain != chain {
			t.Fatalf("message of chain %q", m.Chain)
		}
	}
	wantBacklog(t, q, chain, 3)
	if err := q.Ack(ctx, chain, ids(ms)...); err != nil {
		t.Fatal(err)
	}
	wantBacklog(t, q, chain, 0)
	if more, err := q.Read(ctx, chain, "w1", 10, time.Millisecond); err != nil || len(more) != 0 {
		t.Fatalf("read after ack: %v, %v", payloads(t, more), err)
	}
}

func testCursorCAS(t *testing.T, q Queue) {
	ctx := context.Background()
	appendBlocks(t, q, chain, 1, 2)
	stale := queue.Tip{Number: 1, Hash: "0xh1", Valid: true}
	// A retried append of block 2, or a second poller's, must not publish again.
	err := q.Append(ctx, chain, stale, record(2, "dup"), 3)
	if !errors.Is(err, queue.ErrConflict) {
		t.Fatalf("append on a stale tip: %v, want ErrConflict", err)
	}
	if err := q.Append(ctx, chain, queue.Tip{}, record(1, "dup"), 3); !errors.Is(err,
		queue.ErrConflict) {
		t.Fatalf("append on an empty tip: %v, want ErrConflict", err)
	}
	wrongHash := queue.Tip{Number: 2, Hash: "0xother", Valid: true}
	if err := q.Append(ctx, chain, wrongHash, record(3, "x"), 3); !errors.Is(err,
		queue.ErrConflict) {
		t.Fatalf("append on a tip with another hash: %v, want ErrConflict", err)
	}
	wantBacklog(t, q, chain, 2)
	ms := readAll(t, q, chain, "w", 2)
	wantStrings(t, payloads(t, ms), "1a", "1b", "2a", "2b")
}

func testOrderingPerChain(t *testing.T, q Queue) {
	for n := uint64(1); n <= 20; n++ { // interleave two chains
		appendBlocks(t, q, "alpha", n, n)
		appendBlocks(t, q, "beta", n, n)
	}
	for _, ch := range []string{"alpha", "beta"} {
		ms := readAll(t, q, ch, "w", 20)
		for i, m := range ms {
			want := fmt.Sprintf("[%da %db]", i+1, i+1)
			if got := fmt.Sprint(payloads(t, ms[i:i+1])); got != want || m.Chain != ch {
				t.Fatalf("%s entry %d: %s of %s, want %s", ch, i, got, m.Chain, want)
			}
		}
	}
}

func testKilledConsumer(t *testing.T, q Queue) {
	ctx := context.Background()
	appendBlocks(t, q, chain, 1, 5) // 5 entries
	batch := readAll(t, q, chain, "doomed", 3)
	if err := q.Ack(ctx, chain, batch[0].ID); err != nil {
		t.Fatal(err)
	}
	// "doomed" dies here with 2 entries pending. A live worker reads the rest first.
	rest := readAll(t, q, chain, "survivor", 2)
	wantStrings(t, payloads(t, rest), "4a", "4b", "5a", "5b")
	// Entries handed out just now are not idle for an hour: nothing to claim.
	if ms, err := q.Claim(ctx, chain, "survivor", time.Hour, 10); err != nil || len(ms) != 0 {
		t.Fatalf("claimed %v (%v) with a long idle time", payloads(t, ms), err)
	}
	if err := q.Ack(ctx, chain, ids(rest)...); err != nil {
		t.Fatal(err)
	}
	claimed, err := q.Claim(ctx, chain, "survivor", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	wantStrings(t, payloads(t, claimed), "2a", "2b", "3a", "3b")
	if err := q.Ack(ctx, chain, ids(claimed)...); err != nil {
		t.Fatal(err)
	}
	wantBacklog(t, q, chain, 0)
	if ms, err := q.Claim(ctx, chain, "survivor", 0, 10); err != nil || len(ms) != 0 {
		t.Fatalf("claimed %v (%v) after everything was acknowledged", payloads(t, ms), err)
	}
}

func testBackPressure(t *testing.T, q Queue) {
	ctx := context.Background()
	wantBacklog(t, q, chain, 0)
	appendBlocks(t, q, chain, 1, 5)
	wantBacklog(t, q, chain, 5)
	ms := readAll(t, q, chain, "w", 2)
	wantBacklog(t, q, chain, 5) // handed out is not done
	if err := q.Ack(ctx, chain, ids(ms)...); err != nil {
		t.Fatal(err)
	}
	wantBacklog(t, q, chain, 3)
	readAll(t, q, chain, "w", 3)
	// An empty stream: Read waits its block time and returns nothing.
	if ms, err := q.Read(ctx, chain, "w", 1, 20*time.Millisecond); err != nil || len(ms) != 0 {
		t.Fatalf("read on an empty stream: %v, %v", payloads(t, ms), err)
	}
	// A reader that is waiting wakes up when an entry arrives.
	got := make(chan []queue.Message, 1)
	errc := make(chan error, 1)
	go func() {
		ms, err := q.Read(ctx, chain, "w", 1, 30*time.Second)
		got <- ms
		errc <- err
	}()
	appendBlocks(t, q, chain, 6, 6)
	select {
	case ms := <-got:
		if err := <-errc; err != nil || len(ms) != 1 || payloads(t, ms)[0] != "6a" {
			t.Fatalf("woken reader got %v, %v", payloads(t, ms), err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting reader was not woken by an append")
	}
}

func testConcurrentAppend(t *testing.T, q Queue) {
	ctx := context.Background()
	const pollers, blocks = 4, 15
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := map[uint64]int{}
	for p := range pollers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				tip, err := q.Tip(ctx, chain)
				if err != nil {
					t.Error(err)
					return
				}
				if tip.Valid && tip.Number >= blocks {
					return
				}
				n := tip.Number + 1
				err = q.Append(ctx, chain, tip, record(n, fmt.Sprintf("%d/%d", n, p)), 3)
				if errors.Is(err, queue.ErrConflict) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				wins[n]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for n := uint64(1); n <= blocks; n++ {
		if wins[n] != 1 {
			t.Fatalf("block %d published %d times", n, wins[n])
		}
	}
	wantBacklog(t, q, chain, blocks)
}

// testOwners: one consumer owns a chain at a time; the owner renews; another takes over
// when the owner releases or stops renewing; chains are owned independently.
func testOwners(t *testing.T, q Queue) {
	ctx := context.Background()
	own := func(chain, consumer string, ttl time.Duration) bool {
		t.Helper()
		ok, err := q.Own(ctx, chain, consumer, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !own(chain, "a", time.Hour) || own(chain, "b", time.Hour) {
		t.Fatal("want a to own the chain and b refused")
	}
	if !own(chain, "a", time.Hour) {
		t.Fatal("the owner could not renew")
	}
	if !own("otherchain", "b", time.Hour) {
		t.Fatal("ownership of one chain blocked another")
	}
	if err := q.Release(ctx, chain, "b"); err != nil { // not b's: no effect
		t.Fatal(err)
	}
	if own(chain, "b", time.Hour) {
		t.Fatal("a release by a non-owner freed the chain")
	}
	if err := q.Release(ctx, chain, "a"); err != nil {
		t.Fatal(err)
	}
	if !own(chain, "b", 20*time.Millisecond) {
		t.Fatal("b could not take over a released chain")
	}
	// b stops renewing (it died): a takes over once the ownership expires.
	deadline := time.Now().Add(10 * time.Second)
	for !own(chain, "a", time.Hour) {
		if time.Now().After(deadline) {
			t.Fatal("an expired ownership was never given up")
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
	if own(chain, "b", time.Hour) {
		t.Fatal("b still owns the chain after a took over")
	}
}
