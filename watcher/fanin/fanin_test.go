package fanin

import (
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/internal/seqindex"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// labels is a View: the labelled addresses.
type labels map[string]rules.Label

func (l labels) Label(addr string) (rules.Label, bool) { x, ok := l[addr]; return x, ok }

// quiet is a QuietView that knows no address, as for nearly all of a chain's traffic.
type quiet struct{ labels }

func (quiet) Quiet(string) bool { return true }

var noLabels = labels(nil)

func pay(i int, from, to string, min int) chains.Movement {
	return chains.Movement{Chain: "eth", Tx: fmt.Sprintf("0xt%d", i), Position: "tx",
		Kind: chains.KindNative, Block: chains.BlockRef{Number: uint64(i),
			Time: time.Unix(0, 0).Add(time.Duration(min) * time.Minute)},
		Inputs:  []chains.Leg{{Address: from, Asset: "native", Amount: big.NewInt(1)}},
		Outputs: []chains.Leg{{Address: to, Asset: "native", Amount: big.NewInt(int64(i + 1))}}}
}

func senders(tr *Tracker, addr string, min int) string {
	var out []string
	for _, h := range tr.Senders(addr, time.Unix(0, 0).Add(time.Duration(min)*time.Minute)) {
		out = append(out, h.From)
	}
	return strings.Join(out, ",")
}

func TestTracker(t *testing.T) {
	tr, err := New(Options{Window: time.Hour, MaxPayments: 6, MaxSenders: 3})
	if err != nil {
		t.Fatal(err)
	}
	ms := []chains.Movement{pay(0, "a", "c", 0), pay(1, "b", "c", 10), pay(2, "a", "c", 20),
		pay(3, "d", "c", 30), pay(4, "e", "c", 40)}
	for i := range ms {
		tr.Observe(&ms[i], noLabels)
	}
	for i := range ms { // the batch judged again
		tr.Observe(&ms[i], noLabels)
	}
	if got := senders(tr, "c", 45); got != "a,d,e" || tr.Len() != 5 ||
		tr.Reach() != 40*time.Minute {
		t.Fatalf("senders %q (%d payments, reach %s), want the latest 3 distinct: a,d,e "+
			"(5, 40m)", got, tr.Len(), tr.Reach())
	}
	hops := tr.Senders("c", time.Unix(0, 0).Add(45*time.Minute))
	want := rules.HopOf(&ms[2], "a", ms[2].Outputs[0])
	if h := hops[0]; h.Chain != want.Chain || h.Block != want.Block ||
		!h.Time.Equal(want.Time) || h.Tx != want.Tx || h.Position != want.Position ||
		h.From != want.From || h.To != want.To || h.Asset != want.Asset ||
		h.Amount.Cmp(want.Amount) != 0 {
		t.Fatalf("hop %+v, want %+v", h, want)
	}
	if got := senders(tr, "c", 95); got != "e" {
		t.Fatalf("an hour later: %q, want e", got)
	}
	removed := ms[4]
	removed.Removed = true
	tr.Forget(&removed)
	if got := senders(tr, "c", 45); got != "b,a,d" {
		t.Fatalf("after the reorg: %q, want b,a,d", got)
	}
	tr.Observe(&ms[4], noLabels) // mined again
	if got := senders(tr, "c", 45); got != "a,d,e" {
		t.Fatalf("mined again: %q, want a,d,e", got)
	}
	for i, to := range []string{"x", "y"} { // a→c and b→c, the oldest, are forgotten
		m := pay(10+i, "a", to, 50)
		tr.Observe(&m, noLabels)
	}
	if tr.Len() != 6 || senders(tr, "c", 50) != "a,d,e" || senders(tr, "x", 50) != "a" {
		t.Fatalf("%d remembered, c: %q, x: %q", tr.Len(), senders(tr, "c", 50),
			senders(tr, "x", 50))
	}
	late := pay(20, "f", "y", 200) // more than an hour after the rest: they are forgotten
	tr.Observe(&late, noLabels)
	if tr.Len() != 1 || tr.Reach() != 0 || senders(tr, "c", 200) != "" ||
		senders(tr, "y", 200) != "f" {
		t.Fatalf("%d remembered, c: %q, y: %q", tr.Len(), senders(tr, "c", 200),
			senders(tr, "y", 200))
	}
	hot := labels{"hot": {Category: rules.CategoryExchange, Entity: "Binance"}}
	for _, m := range []chains.Movement{pay(21, "a", "a", 200), {Kind: chains.KindUTXO},
		pay(22, "a", "hot", 200)} {
		tr.Observe(&m, hot)
	}
	if tr.Len() != 1 || senders(tr, "hot", 200) != "" {
		t.Fatalf("a self-payment, a Bitcoin transaction or a payment to an exchange was "+
			"counted: %d remembered, hot paid by %q", tr.Len(), senders(tr, "hot", 200))
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		give    Options
		wantErr string
	}{
		{name: "defaults", give: Options{}},
		{name: "negative window", give: Options{Window: -time.Hour}, wantErr: "window"},
		{name: "too many payments", give: Options{MaxPayments: MaxMaxPayments + 1},
			wantErr: "max_payments"},
		{name: "scan below senders", give: Options{MaxSenders: 8, MaxScan: 4},
			wantErr: "max_scan 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.give)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" &&
				(err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// model is what a Tracker does, plainly: every payment remembered in a slice, and how many
// copies of each movement are remembered, not removed.
type model struct {
	opts     Options
	payments []modelPayment
	live     map[string]int // by transaction and position
}

type modelPayment struct {
	m       *chains.Movement
	removed bool
}

func modelKey(m *chains.Movement) string { return m.Tx + "/" + m.Position }

func (md *model) observe(m *chains.Movement) {
	limit := m.Block.Time.Add(-md.opts.Window).Unix()
	for len(md.payments) > 0 && md.payments[0].m.Block.Time.Unix() < limit {
		md.drop()
	}
	if md.live[modelKey(m)] > 0 {
		return
	}
	md.payments = append(md.payments, modelPayment{m: m})
	md.live[modelKey(m)]++
	for len(md.payments) > md.opts.MaxPayments {
		md.drop()
	}
}

func (md *model) drop() {
	if p := md.payments[0]; !p.removed {
		md.live[modelKey(p.m)]--
	}
	md.payments = md.payments[1:]
}

func (md *model) forget(m *chains.Movement) {
	for i, p := range md.payments {
		if !p.removed && modelKey(p.m) == modelKey(m) {
			md.payments[i].removed = true
			md.live[modelKey(m)]--
		}
	}
}

func (md *model) senders(addr string, now time.Time) string {
	var out []string
	scanned := 0
	for i := len(md.payments) - 1; i >= 0 && scanned < md.opts.MaxScan &&
		len(out) < md.opts.MaxSenders; i-- {
		p := md.payments[i]
		if p.m.Outputs[0].Address != addr {
			continue
		}
		scanned++
		if now.Sub(p.m.Block.Time) > md.opts.Window {
			break
		}
		if from := p.m.Inputs[0].Address; !p.removed && !slices.Contains(out, from) {
			out = append(out, from)
		}
	}
	slices.Reverse(out)
	return strings.Join(out, ",")
}

// TestTrackerModel plays random payments, batches judged again, reorgs and payments mined
// again, across the queue's chunks and past the bound and the window, on a Tracker and on
// the plain model of one, and checks every receiver's senders against the model's as it
// goes: with many receivers, and with few paid often (long chains of payments, the scan's
// bound).
func TestTrackerModel(t *testing.T) {
	for _, tc := range []struct {
		name                string
		receivers, senders  int
		maxPayments, window int
		mostly              bool // the sender is s0 but one time in 30
	}{
		{name: "many receivers", receivers: 5000, senders: 50, maxPayments: 6000,
			window: 3000},
		{name: "few receivers", receivers: 20, senders: 40, maxPayments: 5000,
			window: 1 << 20},
		// Nearly all from one sender: the others are found past the scan's bound.
		{name: "one sender mostly", receivers: 20, senders: 40, maxPayments: 5000,
			window: 1 << 20, mostly: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Window: time.Duration(tc.window) * time.Second,
				MaxPayments: tc.maxPayments, MaxSenders: 8, MaxScan: 64}
			tr, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			md := &model{opts: opts, live: map[string]int{}}
			rng := mrand.New(mrand.NewPCG(5, 6))
			var recent []*chains.Movement // of the current block
			block := 0
			for step := range 30_000 {
				switch op := rng.IntN(100); {
				case op < 85 || len(recent) == 0: // a payment
					if rng.IntN(4) == 0 {
						block, recent = block+1+rng.IntN(3), recent[:0]
					}
					from := fmt.Sprintf("s%d", rng.IntN(tc.senders))
					if tc.mostly && rng.IntN(30) > 0 {
						from = "s0"
					}
					m := pay(step, from, fmt.Sprintf("r%d", rng.IntN(tc.receivers)), 0)
					m.Block.Number, m.Block.Time = uint64(block), time.Unix(int64(block), 0)
					tr.Observe(&m, noLabels)
					md.observe(&m)
					recent = append(recent, &m)
				case op < 92: // the block's payments judged again
					for _, m := range recent {
						tr.Observe(m, noLabels)
						md.observe(m)
					}
				case op < 97: // a reorg takes one back
					m := *recent[rng.IntN(len(recent))]
					m.Removed = true
					tr.Forget(&m)
					md.forget(&m)
				default: // and it is mined again
					m := recent[rng.IntN(len(recent))]
					tr.Observe(m, noLabels)
					md.observe(m)
				}
				if step%97 == 0 || step > 29_000 {
					now := time.Unix(int64(block), 0)
					r := fmt.Sprintf("r%d", rng.IntN(tc.receivers))
					got, want := senders2(tr, r, now), md.senders(r, now)
					if got != want || tr.Len() != len(md.payments) {
						t.Fatalf("step %d: %s paid by %q (%d payments), want %q (%d)", step,
							r, got, tr.Len(), want, len(md.payments))
					}
				}
			}
			if tr.index.Len() == 0 || tr.payments.Head() < 4*seqindex.ChunkSize {
				t.Fatalf("%d receivers indexed, %d payments forgotten: too few to test",
					tr.index.Len(), tr.payments.Head())
			}
		})
	}
}

func senders2(tr *Tracker, addr string, now time.Time) string {
	var out []string
	for _, h := range tr.Senders(addr, now) {
		out = append(out, h.From)
	}
	return strings.Join(out, ",")
}

// transfers returns n transfers, numbered from start, each to a receiver of its own and
// from a sender of its own; every string is its own, as decoded from a node.
func transfers(n, start int) []chains.Movement {
	ms := make([]chains.Movement, n)
	for i := range ms {
		k := start + i
		ms[i] = pay(k, fmt.Sprintf("0x%040x", 1<<40+k), fmt.Sprintf("0x%040x", k), 0)
		ms[i].Tx = fmt.Sprintf("0x%064x", k)
	}
	return ms
}

// BenchmarkObserve notes transfers to fresh receivers, as on a chain, with the Tracker
// full: each arrival forgets the payment made longest ago; a batch of 256 at a time as the
// worker gives them: one by one, and with Prefetch before each batch. It reports the memory
// one remembered payment holds, the strings it keeps of its movement included.
func BenchmarkObserve(b *testing.B) {
	const batch = 256
	for _, prefetch := range []bool{false, true} {
		b.Run(fmt.Sprintf("prefetch=%v", prefetch), func(b *testing.B) {
			tr, err := New(Options{})
			if err != nil {
				b.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			fill := transfers(DefaultMaxPayments, 0)
			for i := range fill {
				tr.Observe(&fill[i], noLabels)
			}
			fill = nil
			runtime.GC()
			runtime.ReadMemStats(&after)
			perPayment := float64(after.HeapAlloc-before.HeapAlloc) / float64(tr.Len())

			// A receiver comes back after more others than the Tracker remembers.
			ms := transfers(DefaultMaxPayments+1<<16, DefaultMaxPayments)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				k := i % (len(ms) / batch) * batch
				if prefetch {
					tr.Prefetch(ms[k : k+batch])
				}
				for j := k; j < k+batch; j++ {
					tr.Observe(&ms[j], quiet{})
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch),
				"ns/transfer")
			b.ReportMetric(perPayment, "B/payment")
		})
	}
}
