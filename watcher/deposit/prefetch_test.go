package deposit

import (
	"fmt"
	mrand "math/rand/v2"
	"reflect"
	"testing"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// TestPrefetch plays one random stream of transfers among a few addresses (arrivals,
// forwards to the exchange, payments elsewhere, deliveries again, removals, the bound and
// the window forgetting) through two Inferrers, one of them given Prefetch before each
// batch, sometimes for a batch other than the one that follows; the two must infer the
// same, in the same order, and remember as many arrivals throughout. A removed movement is
// given to Observe, after Prefetch read it, before Forget.
func TestPrefetch(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(7, 8))
	addrs := []string{hot, hot, lazar}
	for i := range 30 {
		addrs = append(addrs, fmt.Sprintf("0xa%d", i))
	}
	var ms []step
	for len(ms) < 20_000 {
		s := step{min: len(ms) / 40, from: addrs[rng.IntN(len(addrs))],
			to: addrs[rng.IntN(len(addrs))], amount: int64(1 + rng.IntN(4)*100)}
		if rng.IntN(3) == 0 {
			s.asset = usdt
		}
		switch r := rng.IntN(50); {
		case r == 0:
			s.again = true
		case r == 1:
			s.removed = true
		}
		ms = append(ms, s)
	}
	opts := Options{MaxReceipts: 12, Window: 30 * 60e9}
	plain, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ahead, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	views := [2]*lists{{inferred: map[string]rules.Taint{}}, {inferred: map[string]rules.Taint{}}}
	var got [2][]string
	for start := 0; start < len(ms); {
		batch := ms[start:min(len(ms), start+1+rng.IntN(20))]
		movements := make([][]chains.Movement, 2)
		for k := range movements {
			for i, s := range batch {
				m := movement(start+i, s)
				if s.again && i > 0 {
					m = movements[k][i-1]
				}
				movements[k] = append(movements[k], m)
			}
		}
		// The prefetched one is read ahead for the batch, or a shifted copy of it (not the
		// transfers that follow, which it must then hash itself).
		pre := movements[1]
		if rng.IntN(4) == 0 {
			pre = movements[0][rng.IntN(len(batch)):]
		}
		ahead.Prefetch(pre)
		for k, in := range []*Inferrer{plain, ahead} {
			for i := range movements[k] {
				m := &movements[k][i]
				if batch[i].removed { // a reorg, after Prefetch read it
					m.Removed = true
					if _, ok := in.Observe(m, views[k]); ok {
						t.Fatalf("%d: a removed movement inferred", start+i)
					}
					in.Forget(m)
					continue
				}
				if nt, ok := in.Observe(m, views[k]); ok {
					got[k] = append(got[k], fmt.Sprintf("%d:%s", start+i, nt.Address))
					views[k].inferred[nt.Address] = nt.Taint
				}
			}
		}
		start += len(batch)
		if plain.Len() != ahead.Len() {
			t.Fatalf("after %d: %d arrivals remembered, %d with Prefetch", start, plain.Len(),
				ahead.Len())
		}
	}
	if len(got[0]) < 10 {
		t.Fatalf("only %d inferences: the stream does not exercise inference", len(got[0]))
	}
	if !reflect.DeepEqual(got[0], got[1]) {
		t.Fatalf("inferred %v\nwith Prefetch %v", got[0], got[1])
	}
}
