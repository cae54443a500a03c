package taint_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap/zaptest"

	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
)

// waitHolds waits, up to a deadline, until the index knows chain and says want of base.
func waitHolds(t *testing.T, x *taint.Index, chain, base string, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		holds, known := x.Holds(chain, base)
		if known && holds == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s on %s: holds %v known %v; want holds %v", base, chain, holds, known,
				want)
		}
		time.Sleep(time.Millisecond) // polling a condition with a deadline
	}
}

func startIndex(t *testing.T, x *taint.Index) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- x.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("index: %v", err)
		}
	})
}

// TestIndex: the index holds every address with something in the store, under any
// prefix, written before it started (the scan) or after (the feed), and no outpoint; an
// address never written is not held; a chain's index is its own.
func TestIndex(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	store := taint.NewRedis(rdb, prefix)
	apply := func(chain string, key string, addrs ...string) {
		t.Helper()
		var nts []rules.NewTaint
		for _, a := range addrs {
			nts = append(nts, newTaint(a, key, 1))
		}
		if err := store.Apply(ctx, chain, key, nts, nil); err != nil {
			t.Fatal(err)
		}
	}
	var before []string
	for i := range 12000 { // more than one HSCAN's worth
		before = append(before, fmt.Sprintf("0x%040x", i))
	}
	apply("eth", "m1", before...)
	apply("eth", "m2", rules.ModelKey(rules.ModelHaircut, "0xh"),
		rules.PatternKey(rules.PatternCounterparty, "0xp"), rules.OutpointKey("ab", 1))
	x := taint.NewIndex(store, []string{"eth", "btc"}, taint.IndexOptions{Scan: 1000,
		Block: 50 * time.Millisecond, Logger: zaptest.NewLogger(t)})
	if _, known := x.Holds("eth", before[0]); known {
		t.Fatal("known before it ran")
	}
	startIndex(t, x)
	for _, a := range []string{before[0], before[11999], "0xh", "0xp"} {
		waitHolds(t, x, "eth", a, true)
	}
	for _, a := range []string{"0xnever", "ab:1", "ab"} {
		waitHolds(t, x, "eth", a, false)
	}
	apply("eth", "m3", "0xlater", rules.ReceivedKey(rules.ModelFIFO, "bc1later"))
	apply("btc", "m4", "bc1other")
	waitHolds(t, x, "eth", "0xlater", true)
	waitHolds(t, x, "eth", "bc1later", true)
	waitHolds(t, x, "btc", "bc1other", true)
	waitHolds(t, x, "btc", before[0], false)
	if st := x.Stats()["eth"]; st.Members != 12000+4 || st.Bytes < 8*st.Members {
		t.Fatalf("stats %v", st)
	}
}

// TestIndexGap: a key whose feed entry was lost (the feed trimmed past where the index
// read) is found by scanning again: the index does not know while it scans, then holds
// it, and follows the feed on.
func TestIndexGap(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	store := taint.NewRedis(rdb, prefix)
	if err := store.Apply(ctx, "eth", "m1", []rules.NewTaint{newTaint("0xa", "m1", 1)},
		nil); err != nil {
		t.Fatal(err)
	}
	x := taint.NewIndex(store, []string{"eth"}, taint.IndexOptions{
		Block: 20 * time.Millisecond, Logger: zaptest.NewLogger(t)})
	startIndex(t, x)
	waitHolds(t, x, "eth", "0xa", true)
	// As if two writes' entries were trimmed away unread: the keys are in the store, the
	// feed's next entry is two numbers on.
	hash, feed, seq := prefix+":{eth}:taint", prefix+":{eth}:feed", prefix+":{eth}:feedseq"
	if err := rdb.HSet(ctx, hash, "0xlost", "x").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.IncrBy(ctx, seq, 2).Err(); err != nil {
		t.Fatal(err)
	}
	if err := store.Apply(ctx, "eth", "m2", []rules.NewTaint{newTaint("0xb", "m2", 1)},
		nil); err != nil {
		t.Fatal(err)
	}
	waitHolds(t, x, "eth", "0xlost", true)
	waitHolds(t, x, "eth", "0xb", true)
	if err := store.Apply(ctx, "eth", "m3", []rules.NewTaint{newTaint("0xc", "m3", 1)},
		nil); err != nil {
		t.Fatal(err)
	}
	waitHolds(t, x, "eth", "0xc", true)
	if n, _ := rdb.XLen(ctx, feed).Result(); n != 3 {
		t.Fatalf("feed of %d entries, want 3", n)
	}
}

// TestIndexUnreachable: without Redis the index never claims to know.
func TestIndexUnreachable(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer rdb.Close()
	x := taint.NewIndex(taint.NewRedis(rdb, "fw"), []string{"eth"}, taint.IndexOptions{
		Retry: time.Millisecond, Logger: zaptest.NewLogger(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := x.Run(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("run: %v", err)
	}
	if _, known := x.Holds("eth", "0xa"); known {
		t.Fatal("known without Redis")
	}
}
