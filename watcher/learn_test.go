package watcher

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// TestWorkerLearnsAfresh: a worker that comes to own a chain again after another owned it
// (its ownership lost, or run out while it stalled) starts the chain's deposit-address
// inferrer and fan-in tracker afresh: what they remembered has a hole where the other
// worker judged the chain, and may hold transfers that a reorg removed meanwhile (the other
// worker was told). While it keeps the chain, renewing in time, they keep what they learnt.
func TestWorkerLearnsAfresh(t *testing.T) {
	e := newWorkerEnv(t)
	ctx := context.Background()
	rs := append(slices.Clip(e.rules), rules.Rule{Name: "fan-in", Severity: "high",
		Pattern: rules.PatternFanIn, Count: 3, Window: time.Hour})
	w, err := NewWorker(e.q, e.q, e.lists, e.store, rs, e.sink, WorkerOptions{Name: "w",
		Chains: []string{"c"}, ClaimIdle: time.Minute,
		Deposits: map[string]deposit.Options{"c": {}}, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	own := func(want bool) {
		t.Helper()
		if ok, err := w.own(ctx, "c"); err != nil || ok != want {
			t.Fatalf("own: %v (%v), want %v", ok, err, want)
		}
	}
	n := 0
	learn := func() { // a transfer between two addresses on no list, judged
		t.Helper()
		n++
		amount := big.NewInt(int64(n))
		leg := func(prefix string) []chains.Leg {
			return []chains.Leg{{Address: fmt.Sprintf("%s%d", prefix, n), Asset: "native",
				Amount: amount}}
		}
		m := chains.Movement{Chain: "c", Tx: fmt.Sprintf("0x%02x", n),
			Position: chains.PositionTx, Kind: chains.KindNative,
			Block:  chains.BlockRef{Number: uint64(n), Time: time.Unix(int64(n), 0).UTC()},
			Inputs: leg("0xa"), Outputs: leg("0xb")}
		if _, _, err := w.judge(ctx, "c", []chains.Movement{m}); err != nil {
			t.Fatal(err)
		}
	}
	remembered := func() string {
		return fmt.Sprintf("%d arrivals, %d payments", w.infer["c"].Len(), w.senders["c"].Len())
	}
	sinceRenewal := func(d time.Duration) { w.owned["c"] = time.Now().Add(-d) }
	other := func() {
		t.Helper()
		if ok, err := e.q.Own(ctx, "c", "other", time.Minute); err != nil || !ok {
			t.Fatalf("other: %v, %v", ok, err)
		}
		if err := e.q.Release(ctx, "c", "other"); err != nil {
			t.Fatal(err)
		}
	}

	own(true)
	learn()
	sinceRenewal(20 * time.Second) // renewed in time: it kept the chain
	own(true)
	learn()
	if got := remembered(); got != "2 arrivals, 2 payments" {
		t.Fatalf("after a renewal in time: %s, want 2 of each", got)
	}
	for _, tc := range []struct {
		name string
		gap  func()
	}{
		{"ownership run out", func() {
			sinceRenewal(61 * time.Second)
			if err := e.q.Release(ctx, "c", "w"); err != nil { // as the key expired
				t.Fatal(err)
			}
			other()
		}},
		{"ownership lost", func() {
			if err := e.q.Release(ctx, "c", "w"); err != nil {
				t.Fatal(err)
			}
			if ok, err := e.q.Own(ctx, "c", "other", time.Minute); err != nil || !ok {
				t.Fatalf("other: %v, %v", ok, err)
			}
			sinceRenewal(20 * time.Second)
			own(false)
			if err := e.q.Release(ctx, "c", "other"); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		// In turn on this test's goroutine: the helpers fail t.
		learn()
		tc.gap()
		own(true)
		if got := remembered(); got != "0 arrivals, 0 payments" {
			t.Fatalf("%s, owning the chain again: %s, want nothing", tc.name, got)
		}
	}
}
