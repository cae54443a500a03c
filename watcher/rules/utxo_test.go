package rules

import (
	"fmt"
	"math/big"
	"sort"
	"strings"
	"testing"

	"github.com/flowwatch/flowwatch/chains"
)

type in struct {
	addr  string
	prev  string // "tx:index"
	value int64
}

type out struct {
	addr  string
	value int64
}

func utxo(tx string, ins []in, outs []out) *chains.Movement {
	m := &chains.Movement{Chain: "bitcoin", Block: chains.BlockRef{Number: 9}, Tx: tx,
		Position: chains.PositionTx, Kind: chains.KindUTXO}
	for _, i := range ins {
		prevTx, idx, _ := strings.Cut(i.prev, ":")
		var n uint32
		fmt.Sscan(idx, &n)
		m.Inputs = append(m.Inputs, chains.Leg{Address: i.addr, Asset: chains.AssetNative,
			Amount: big.NewInt(i.value), PrevTx: prevTx, PrevIndex: n})
	}
	for j, o := range outs {
		m.Outputs = append(m.Outputs, chains.Leg{Address: o.addr, Asset: chains.AssetNative,
			Amount: big.NewInt(o.value), Index: uint32(j)})
	}
	return m
}

// summary is a decision in short: findings as "rule>vout=tainted", taints as
// "key=what(hops)" where what is "all" (poison), the tainted amount (haircut) or the lots
// (FIFO, "5c+3t").
func summary(d Decision) string {
	var parts []string
	for _, f := range d.Findings {
		parts = append(parts, fmt.Sprintf("%s>%d=%s", f.Rule.Name, f.Output, f.Tainted))
	}
	var ts []string
	for _, nt := range d.Taints {
		ts = append(ts, fmt.Sprintf("%s=%s(%d)", nt.Address, held(nt.Taint),
			len(nt.Taint.Path)))
	}
	sort.Strings(ts)
	return strings.Join(append(parts, ts...), " ")
}

// held is what a taint holds in short.
func held(t Taint) string {
	switch {
	case t.Lots != nil:
		return lotString(t.Lots)
	case t.Amount != nil:
		return t.Amount.String()
	case t.Holdings != nil:
		var hs []string
		for _, h := range t.Holdings {
			if h.Lots != nil {
				hs = append(hs, lotString(h.Lots))
			} else {
				hs = append(hs, fmt.Sprintf("%s/%s", h.Tainted, h.Balance))
			}
		}
		return strings.Join(hs, ",")
	}
	return "all"
}

func lotString(lots []Lot) string {
	var ls []string
	for _, l := range lots {
		kind := "c"
		if l.Tainted {
			kind = "t"
		}
		ls = append(ls, l.Amount.String()+kind)
	}
	return strings.Join(ls, "+")
}

// TestEvaluateUTXO reproduces worked examples by hand. The source S pays 10 BTC-units; a
// clean input C adds 30 where mixed; fees are what the outputs leave.
func TestEvaluateUTXO(t *testing.T) {
	poison := Rule{Name: "p", Destinations: []string{"exchange"}, MaxHops: 3}
	haircut := Rule{Name: "h", Destinations: []string{"exchange"}, MaxHops: 3,
		Model: ModelHaircut}
	view := mapView{
		sources: map[string]Source{"S": {Entity: "Lazarus", Category: "sanctioned"}},
		labels:  map[string]Label{"X": {Category: "exchange", Entity: "Binance"}},
		taints: map[string]Taint{
			// t1:0 holds 40 of which 10 tainted (an earlier haircut); 2 hops so far.
			"h/t1:0": {Root: "S", Path: []Hop{{}, {}}, Amount: big.NewInt(10)},
			// t2:1 is tainted in full (poison), 1 hop.
			"t2:1": {Root: "S", Path: []Hop{{}}},
		},
	}
	tests := []struct {
		name  string
		rules []Rule
		give  *chains.Movement
		want  string
	}{
		{"source pays a fresh address and change: both outputs follow (poison)",
			[]Rule{poison}, utxo("a", []in{{"S", "p:0", 100}}, []out{{"F", 60}, {"S", 39}}),
			"a:0=all(1) r/F=all(1)"},
		{"mixed inputs: poison taints every output fully; haircut by share",
			[]Rule{poison, haircut},
			utxo("b", []in{{"S", "p:0", 10}, {"C", "q:0", 30}}, []out{{"X", 20}, {"F", 19}}),
			"p>0=20 h>0=5 b:1=all(1) h/b:1=4(1) h/r/F=4(1) r/F=all(1)"},
		{"haircut follows the stored tainted amount: 10 of 40 in, 36 out",
			[]Rule{haircut}, utxo("c", []in{{"N", "t1:0", 40}}, []out{{"X", 36}}),
			"h>0=9"},
		{"a tainted outpoint is seen though the spending address is new",
			[]Rule{poison}, utxo("d", []in{{"NEW", "t2:1", 50}}, []out{{"G", 49}}),
			"d:0=all(2) r/G=all(2)"},
		{"hops run out: the third hop alerts, a fourth output is not followed",
			[]Rule{haircut}, utxo("e", []in{{"N", "t1:0", 40}}, []out{{"X", 12}, {"H", 27}}),
			"h>0=3"},
		{"OP_RETURN and zero outputs carry nothing",
			[]Rule{poison}, utxo("f", []in{{"S", "p:1", 10}}, []out{{"", 0}, {"", 5}}), ""},
		{"clean inputs: nothing", []Rule{poison, haircut},
			utxo("g", []in{{"C", "q:1", 10}}, []out{{"X", 9}}), ""},
		{"an output already tainted keeps its first taint",
			[]Rule{poison}, utxo("t2", []in{{"S", "p:2", 50}}, []out{{"F", 20}, {"G", 29}}),
			"r/F=all(1) t2:0=all(1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summary(Evaluate(tt.rules, tt.give, view)); got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestDirectRule: a direct-exposure rule alerts on each output paying a designated address
// of its categories, whoever pays, on either model of chain; self-payments and other
// categories do not count.
func TestDirectRule(t *testing.T) {
	direct := Rule{Name: "d", Direct: true, SourceCategories: []string{"sanctioned"}}
	if err := direct.Validate(); err != nil {
		t.Fatalf("a direct rule needs no destinations: %v", err)
	}
	view := mapView{sources: map[string]Source{"S": {Entity: "X", Category: "sanctioned"},
		"R": {Category: "ransomware"}}}
	tests := []struct {
		name string
		give *chains.Movement
		want string
	}{
		{"bitcoin: the second output pays S", utxo("a", []in{{"C", "p:0", 10}},
			[]out{{"F", 5}, {"S", 4}}), "d>1=4"},
		{"account chain", move("0xt", "C", "S", 7), "d>0=7"},
		{"another category", move("0xt", "C", "R", 7), ""},
		{"S pays itself", move("0xt", "S", "S", 7), ""},
	}
	for _, tt := range tests {
		if got := summary(Evaluate([]Rule{direct}, tt.give, view)); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
