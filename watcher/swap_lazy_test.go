package watcher

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// TestWorkerSwapAcrossBatches: a watched wallet pays a DEX and the DEX pays a fresh wallet
// another token in the same transaction, judged in two batches, so that the second finds
// the swap kept under the transaction in the cache or, once the cache is dropped, in the
// store. The worker looks a transaction up only when its sender is listed (the DEX is);
// the swap must be found either way, and a clean transfer in the same transaction, whose
// sender is not listed, must raise nothing.
func TestWorkerSwapAcrossBatches(t *testing.T) {
	const (
		dex   = "0xd000000000000000000000000000000000000001"
		fresh = "0xf000000000000000000000000000000000000002"
		other = "0xf000000000000000000000000000000000000003"
	)
	for _, tt := range []struct {
		name string
		drop func(c *taintCache) // what the worker forgets between the batches
	}{
		{"cache kept", func(*taintCache) {}},
		{"states dropped", func(c *taintCache) { c.invalidate("c") }},
		{"set rebuilt", func(c *taintCache) { c.forget("c") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newWorkerEnv(t)
			e.lists.AddLabel("c", dex, rules.Label{Entity: "DEX router", Category: "dex"})
			e.rules = []rules.Rule{{Name: "token-swap", Pattern: rules.PatternSwap}}
			w := e.worker(t, "w", time.Minute)
			ctx := context.Background()
			if ok, err := w.own(ctx, "c"); err != nil || !ok {
				t.Fatalf("own: %v, %v", ok, err)
			}
			leg := func(pos, from, to, asset string) chains.Movement {
				return chains.Movement{Chain: "c", Tx: "0xab", Position: pos,
					Kind: chains.KindToken, Block: chains.BlockRef{Number: 7,
						Time: time.Unix(1.7e9, 0).UTC()},
					Inputs:  []chains.Leg{{Address: from, Asset: asset, Amount: big.NewInt(5)}},
					Outputs: []chains.Leg{{Address: to, Asset: asset, Amount: big.NewInt(5)}}}
			}
			into := []chains.Movement{leg("log:1", hopSource, dex, "usdx")}
			if err := w.handleBatch(ctx, "c", into); err != nil {
				t.Fatal(err)
			}
			tt.drop(w.cache)
			out := []chains.Movement{leg("log:2", other, fresh, "wetx"),
				leg("log:3", dex, fresh, "wetx")}
			if err := w.handleBatch(ctx, "c", out); err != nil {
				t.Fatal(err)
			}
			if distinct, total := e.sink.count(); distinct != 1 || total != 1 {
				t.Fatalf("%d alerts (%d delivered), want 1: %+v", distinct, total,
					e.sink.alerts)
			}
			if a := e.sink.alerts[0]; a.Rule != "token-swap" || a.Position != "log:3" ||
				a.Destination.Address != fresh {
				t.Fatalf("alert %s at %s to %s, want token-swap at log:3 to %s", a.Rule,
					a.Position, a.Destination.Address, fresh)
			}
			got, err := e.store.Taints(ctx, "c", fresh)
			if err != nil || len(got) != 1 || got[fresh].Root != hopSource {
				t.Fatalf("taint of the swap's receiver: %+v, %v; want its root %s", got, err,
					hopSource)
			}
		})
	}
}
