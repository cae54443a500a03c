package fanin

import (
	"fmt"
	mrand "math/rand/v2"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// TestPrefetch plays one random stream of payments among a few addresses (deliveries
// again, removals after Prefetch, the bound and the window forgetting) through two
// Trackers, one of them given Prefetch before each batch, sometimes for a batch other than
// the one that follows; the two must remember the same senders of every receiver and as
// many payments throughout.
func TestPrefetch(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(9, 10))
	opts := Options{Window: 20 * time.Minute, MaxPayments: 300, MaxSenders: 4, MaxScan: 16}
	plain, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ahead, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	const addrs = 40
	v := labels{"a0": {Category: rules.CategoryExchange}} // not remembered
	checked := 0
	for start := 0; start < 20_000; {
		n := 1 + rng.IntN(40)
		var batches [2][]chains.Movement
		again := rng.IntN(10) == 0 // the batch is delivered twice
		for i := range n {
			m := pay(start+i, fmt.Sprintf("a%d", rng.IntN(addrs)),
				fmt.Sprintf("a%d", rng.IntN(addrs)), (start+i)/40)
			batches[0], batches[1] = append(batches[0], m), append(batches[1], m)
		}
		removed := -1
		if rng.IntN(5) == 0 {
			removed = rng.IntN(n)
		}
		for pass := 0; pass < 1 || again && pass < 2; pass++ {
			// The prefetched one is read ahead for the batch, or a shifted copy of it (not the
			// payments that follow, which it must then hash itself).
			pre := batches[1]
			if rng.IntN(4) == 0 {
				pre = batches[0][rng.IntN(n):]
			}
			ahead.Prefetch(pre)
			for k, tr := range []*Tracker{plain, ahead} {
				for i := range batches[k] {
					m := &batches[k][i]
					if i == removed && pass == 0 { // a reorg, after Prefetch read it
						m.Removed = true
						tr.Observe(m, v)
						tr.Forget(m)
						m.Removed = false
						continue
					}
					tr.Observe(m, v)
				}
			}
		}
		start += n
		if plain.Len() != ahead.Len() {
			t.Fatalf("after %d: %d payments remembered, %d with Prefetch", start, plain.Len(),
				ahead.Len())
		}
		now := time.Unix(0, 0).Add(time.Duration(start/40) * time.Minute)
		for a := range addrs {
			addr := fmt.Sprintf("a%d", a)
			if got, want := senders2(ahead, addr, now), senders2(plain, addr, now); got != want {
				t.Fatalf("after %d: %s paid by %q with Prefetch, %q without", start, addr, got,
					want)
			} else if got != "" {
				checked++
			}
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d receivers had senders: the stream does not exercise the tracker",
			checked)
	}
}
