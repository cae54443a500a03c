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
// from start seconds; one in four is from an address that received within the 10,000
// transfers before, the others from fresh addresses. Every string is its own, as decoded
// from a node.
func arrivals(n, start int) []chains.Movement {
	ms := make([]chains.Movement, n)
	for i := range ms {
		k := start + i
		from := fmt.Sprintf("0x%040x", k)
		if k%4 == 0 && k > 0 {
			from = fmt.Sprintf("0x%040x", 1<<40+max(0, k-1-k*7919%10_000))
		}
		ms[i] = chains.Movement{Chain: strings.Clone("eth"), Tx: fmt.Sprintf("0x%064x", k),
			Position: chains.PositionTx, Kind: chains.KindNative,
			Block: chains.BlockRef{Number: uint64(k), Time: time.Unix(int64(k), 0)},
			Inputs: []chains.Leg{{Address: from, Asset: chains.AssetNative,
				Amount: big.NewInt(int64(k + 1))}},
			Outputs: []chains.Leg{{Address: fmt.Sprintf("0x%040x", 1<<40+k),
				Asset: chains.AssetNative, Amount: big.NewInt(int64(k + 1))}}}
	}
	return ms
}

// quietView is a View that knows no address, as for nearly all of a chain's traffic.
type quietView struct{}

func (quietView) Source(string) (rules.Source, bool) { return rules.Source{}, false }
func (quietView) Label(string) (rules.Label, bool)   { return rules.Label{}, false }
func (quietView) Quiet(string) bool                  { return true }

// BenchmarkObserve measures Observe in steady state at the default bound (as many
// arrivals remembered as DefaultMaxReceipts allows, each new one forgetting the oldest),
// given transfers (see arrivals) a batch of 256 at a time as the worker gives them: one by
// one, and with Prefetch before each batch. It reports the memory one remembered arrival
// holds. (The window is longer than the run: the bound alone forgets.)
func BenchmarkObserve(b *testing.B) {
	const n, batch = DefaultMaxReceipts, 256
	for _, prefetch := range []bool{false, true} {
		b.Run(fmt.Sprintf("prefetch=%v", prefetch), func(b *testing.B) {
			in, err := New(Options{Window: 100 * 365 * 24 * time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			fill := arrivals(n, 0)
			for i := range fill {
				in.Observe(&fill[i], quietView{})
			}
			fill = nil
			runtime.GC()
			runtime.ReadMemStats(&after)
			perArrival := float64(after.HeapAlloc-before.HeapAlloc) / float64(in.Len())

			ms := arrivals(n, n)
			for i := 0; b.Loop(); i++ {
				k := i % (n / batch) * batch
				if i > 0 && k == 0 {
					b.StopTimer()
					next := int(ms[len(ms)-1].Block.Number) + 1
					ms = nil
					ms = arrivals(n, next)
					b.StartTimer()
				}
				if prefetch {
					in.Prefetch(ms[k : k+batch])
				}
				for j := k; j < k+batch; j++ {
					in.Observe(&ms[j], quietView{})
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch),
				"ns/movement")
			b.ReportMetric(perArrival, "B/arrival")
		})
	}
}
