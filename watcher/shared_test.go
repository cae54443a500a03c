package watcher

import (
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"github.com/flowwatch/flowwatch/chains"
)

// TestSharedTable checks the yardstick of BenchmarkRules's bare+shared against the same
// work on Go maps: the same hits, and a table holding exactly the flagged addresses and
// those whose last arrival or payment is still in its ring, over streams long enough for
// the rings to wrap many times and for slots to be freed and moved back.
func TestSharedTable(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	addr := func(i int) string { return fmt.Sprintf("0x%040x", i) }
	var held, listed []string
	for i := range 300 {
		held = append(held, addr(i))
	}
	for i := 300; i < 320; i++ {
		listed = append(listed, addr(i))
	}
	const receipts, payments = 64, 128
	tab := buildSharedTable(held, listed, receipts, payments)
	flags := map[string]bool{}
	for _, a := range append(held, listed...) {
		flags[a] = true
	}
	lastRec, lastPay := map[string]int{}, map[string]int{}
	n := 0 // arrivals so far
	for pass := range 40 {
		ms := make([]chains.Movement, 1000)
		want := 0
		for i := range ms {
			from, to := addr(rng.IntN(2000)), addr(rng.IntN(2000))
			ms[i] = chains.Movement{Inputs: []chains.Leg{{Address: from}},
				Outputs: []chains.Leg{{Address: to}}}
			if flags[from] {
				want++
			}
			if r, ok := lastRec[from]; ok && n-r < receipts {
				want++
			}
			if flags[to] {
				want++
			}
			n++
			lastRec[to], lastPay[to] = n, n
		}
		if got := tab.run(ms); got != want {
			t.Fatalf("pass %d: %d hits, want %d", pass, got, want)
		}
		live := map[string]bool{}
		for a := range flags {
			live[a] = true
		}
		for a, r := range lastRec {
			if n-r < receipts {
				live[a] = true
			}
		}
		for a, p := range lastPay {
			if n-p < payments {
				live[a] = true
			}
		}
		used := 0
		for _, s := range tab.slots {
			if s.fp != 0 {
				used++
			}
		}
		if used != len(live) {
			t.Fatalf("pass %d: %d slots used, want %d", pass, used, len(live))
		}
		for a := range live {
			if _, ok := tab.find(tab.hash(a)); !ok {
				t.Fatalf("pass %d: %s not found", pass, a)
			}
		}
	}
}
