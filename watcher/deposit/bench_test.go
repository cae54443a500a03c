package deposit

import (
	"fmt"
	"math/big"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// arrivals returns n transfers, each to an address not seen before, block times rising
// from start seconds; every string is its own, as decoded from a node.
func arrivals(n, start int) []chains.Movement {
	ms := make([]chains.Movement, n)
	for i := range ms {
		k := start + i
		ms[i] = chains.Movement{Chain: strings.Clone("eth"), Tx: fmt.Sprintf("0x%064x", k),
			Position: chains.PositionTx, Kind: chains.KindNative,
			Block: chains.BlockRef{Number: uint64(k), Time: time.Unix(int64(k), 0)},
			Inputs: []chains.Leg{{Address: fmt.Sprintf("0x%040x", k),
				Asset: chains.AssetNative, Amount: big.NewInt(int64(k + 1))}},
			Outputs: []chains.Leg{{Address: fmt.Sprintf("0x%040x", 1<<40+k),
				Asset: chains.AssetNative, Amount: big.NewInt(int64(k + 1))}}}
	}
	return ms
}

// BenchmarkObserve measures, in steady state (as many arrivals remembered as the bound
// allows, each new one forgetting the oldest), a transfer to an address not seen before,
// as most of a chain's traffic is; and reports the memory one remembered arrival holds. (The
// window is longer than the run: the bound alone forgets. The test's View allocates the key
// it reads inferences under; the worker's does not.)
func BenchmarkObserve(b *testing.B) {
	const n = 1 << 16
	v := &lists{inferred: map[string]rules.Taint{}}
	in, err := New(Options{MaxReceipts: n, Window: 100 * 365 * 24 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fill := arrivals(n, 0)
	for i := range fill {
		in.Observe(&fill[i], v)
	}
	fill = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	perArrival := float64(after.HeapAlloc-before.HeapAlloc) / float64(in.Len())

	ms := arrivals(4*n, n)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if i == len(ms) {
			b.StopTimer()
			next := int(ms[len(ms)-1].Block.Number) + 1
			ms, i = arrivals(4*n, next), 0
			b.StartTimer()
		}
		in.Observe(&ms[i], v)
		i++
	}
	b.ReportMetric(perArrival, "B/arrival")
}
