package fanin

import (
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/chains"
)

func pay(i int, from, to string, min int) chains.Movement {
	return chains.Movement{Chain: "eth", Tx: fmt.Sprintf("0xt%d", i), Position: "tx",
		Kind: chains.KindNative, Block: chains.BlockRef{Number: uint64(i),
			Time: time.Unix(0, 0).Add(time.Duration(min) * time.Minute)},
		Inputs:  []chains.Leg{{Address: from, Asset: "native", Amount: big.NewInt(1)}},
		Outputs: []chains.Leg{{Address: to, Asset: "native", Amount: big.NewInt(1)}}}
}

func senders(tr *Tracker, addr string, min int) string {
	var out []string
	for _, h := range tr.Senders(addr, time.Unix(0, 0).Add(time.Duration(min)*time.Minute)) {
		out = append(out, h.From)
	}
	return strings.Join(out, ",")
}

func TestTracker(t *testing.T) {
	tr, err := New(Options{Window: time.Hour, MaxAddresses: 2, MaxSenders: 3})
	if err != nil {
		t.Fatal(err)
	}
	ms := []chains.Movement{pay(0, "a", "c", 0), pay(1, "b", "c", 10), pay(2, "a", "c", 20),
		pay(3, "d", "c", 30), pay(4, "e", "c", 40)}
	for i := range ms {
		tr.Observe(&ms[i])
	}
	tr.Observe(&ms[4]) // delivered again
	if got := senders(tr, "c", 45); got != "a,d,e" {
		t.Fatalf("senders %q, want the latest 3 distinct: a,d,e", got)
	}
	if got := senders(tr, "c", 95); got != "e" {
		t.Fatalf("an hour later: %q, want e", got)
	}
	removed := ms[4]
	removed.Removed = true
	tr.Forget(&removed)
	if got := senders(tr, "c", 45); got != "a,d" {
		t.Fatalf("after the reorg: %q, want a,d", got)
	}
	for i, to := range []string{"x", "y"} { // c, paid longest ago, is dropped
		m := pay(10+i, "a", to, 50)
		tr.Observe(&m)
	}
	if tr.Len() != 2 || senders(tr, "c", 50) != "" {
		t.Fatalf("%d remembered, c: %q", tr.Len(), senders(tr, "c", 50))
	}
	for _, m := range []chains.Movement{pay(20, "a", "a", 0), {Kind: chains.KindUTXO}} {
		tr.Observe(&m)
	}
	if tr.Len() != 2 {
		t.Fatalf("a self-payment or a Bitcoin transaction was counted: %d", tr.Len())
	}
}

// BenchmarkObserve notes transfers to fresh receivers, as on a chain, with the Tracker
// full: each arrival forgets the receiver paid longest ago.
func BenchmarkObserve(b *testing.B) {
	tr, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	const n = 4 * DefaultMaxAddresses
	ms := make([]chains.Movement, n)
	for i := range ms {
		ms[i] = pay(i, fmt.Sprintf("0x%040x", i+n), fmt.Sprintf("0x%040x", i), 0)
	}
	for i := range DefaultMaxAddresses { // full
		tr.Observe(&ms[i])
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// A receiver comes back after n-1 others, long forgotten.
		tr.Observe(&ms[(DefaultMaxAddresses+i)%n])
	}
}
