package rules

import (
	"math/big"
	"sort"
	"strings"
	"testing"

	"github.com/flowwatch/flowwatch/chains"
)

// mapView is a View over maps, the shape the worker builds from its lists and taint store.
type mapView struct {
	sources map[string]Source
	labels  map[string]Label
	taints  map[string]Taint
	tracked map[string]int64
}

func (v mapView) Source(a string) (Source, bool)  { s, ok := v.sources[a]; return s, ok }
func (v mapView) Label(a string) (Label, bool)    { l, ok := v.labels[a]; return l, ok }
func (v mapView) Taint(p, b string) (Taint, bool) { t, ok := v.taints[p+b]; return t, ok }
func (v mapView) Tracked(c string) int64          { return v.tracked[c] }

// store applies what d writes, as the worker's store does: each taint replaces what its
// key held, and a key new to the view adds to its counter (when the view counts).
func (v mapView) store(d Decision) {
	for _, nt := range d.Taints {
		if _, had := v.taints[nt.Address]; !had && nt.Counter != "" && v.tracked != nil {
			v.tracked[nt.Counter]++
		}
		v.taints[nt.Address] = nt.Taint
	}
}

func move(tx, from, to string, amount int64) *chains.Movement {
	return &chains.Movement{Chain: "ethereum", Tx: tx, Position: "tx", Kind: chains.KindNative,
		Block:   chains.BlockRef{Number: 7},
		Inputs:  []chains.Leg{{Address: from, Asset: "native", Amount: big.NewInt(amount)}},
		Outputs: []chains.Leg{{Address: to, Asset: "native", Amount: big.NewInt(amount)}}}
}

func TestEvaluate(t *testing.T) {
	lazarus := Source{Entity: "Lazarus Group", Category: "sanctioned", List: "OFAC SDN"}
	ransom := Source{Entity: "WannaCry", Category: "ransomware", List: "tagpack"}
	view := mapView{
		sources: map[string]Source{"src": lazarus, "ransom": ransom, "src2": lazarus},
		labels: map[string]Label{"binance": {Category: "exchange", Entity: "Binance"},
			"tornado": {Category: "mixer", Entity: "Tornado Cash"},
			"uniswap": {Category: "dex", Entity: "Uniswap"}},
		taints: map[string]Taint{
			"hop1": {Root: "src", Source: lazarus, Path: []Hop{{Tx: "t0", From: "src",
				To: "hop1", Amount: big.NewInt(9)}}, By: "ethereum/t0/tx"},
			"hop3": {Root: "src", Source: lazarus, Path: make([]Hop, 3)},
		},
	}
	rs := []Rule{
		{Name: "to-exchange", Severity: "high", Destinations: []string{"exchange"}, MaxHops: 4},
		{Name: "to-mixer", Severity: "critical", SourceCategories: []string{"sanctioned"},
			Destinations: []string{"mixer"}, MaxHops: 2},
	}
	tests := []struct {
		name      string
		give      *chains.Movement
		wantFinds []string // "rule root->dest hops"
		wantTaint []string // "addr root hops"
	}{
		{name: "direct to exchange", give: move("t1", "src", "binance", 5),
			wantFinds: []string{"to-exchange src->binance 1"}},
		{name: "direct to mixer", give: move("t1", "src", "tornado", 5),
			wantFinds: []string{"to-mixer src->tornado 1"}},
		{name: "ransomware to mixer: rule limited to sanctioned",
			give: move("t1", "ransom", "tornado", 5)},
		{name: "tainted hop to exchange", give: move("t2", "hop1", "binance", 5),
			wantFinds: []string{"to-exchange src->binance 2"}},
		{name: "tainted hop to mixer within two hops", give: move("t2", "hop1", "tornado", 5),
			wantFinds: []string{"to-mixer src->tornado 2"}},
		{name: "mixer beyond its rule's hops", give: move("t2", "hop3", "tornado", 5)},
		{name: "exchange at the hop limit", give: move("t2", "hop3", "binance", 5),
			wantFinds: []string{"to-exchange src->binance 4"}},
		{name: "source to fresh address taints it", give: move("t3", "src", "fresh", 5),
			wantTaint: []string{"fresh src 1"}},
		{name: "tainted to fresh address taints it", give: move("t3", "hop1", "fresh", 5),
			wantTaint: []string{"fresh src 2"}},
		{name: "no taint past the largest budget", give: move("t3", "hop3", "fresh", 5)},
		{name: "labelled service is not followed", give: move("t3", "src", "uniswap", 5)},
		{name: "already tainted keeps its taint", give: move("t3", "src", "hop1", 5)},
		{name: "source to source adds nothing", give: move("t3", "src", "src2", 5)},
		{name: "clean funds", give: move("t4", "nobody", "binance", 5)},
		{name: "self transfer", give: move("t4", "src", "src", 5)},
		{name: "removed movement decides nothing",
			give: func() *chains.Movement { m := move("t1", "src", "binance", 5); m.Removed = true; return m }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Evaluate(rs, tt.give, view)
			var finds, taints []string
			for _, f := range d.Findings {
				finds = append(finds, f.Rule.Name+" "+f.Root+"->"+f.Destination+" "+
					itoa(len(f.Path)))
				if last := f.Path[len(f.Path)-1]; last.Tx != tt.give.Tx || last.To != f.Destination {
					t.Errorf("path does not end with the movement: %+v", last)
				}
			}
			for _, nt := range d.Taints {
				taints = append(taints, nt.Address+" "+nt.Taint.Root+" "+itoa(len(nt.Taint.Path)))
				if nt.Taint.By != tt.give.Key() {
					t.Errorf("taint by %q, want %q", nt.Taint.By, tt.give.Key())
				}
			}
			if strings.Join(finds, ";") != strings.Join(tt.wantFinds, ";") {
				t.Errorf("findings %v, want %v", finds, tt.wantFinds)
			}
			if strings.Join(taints, ";") != strings.Join(tt.wantTaint, ";") {
				t.Errorf("taints %v, want %v", taints, tt.wantTaint)
			}
		})
	}
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

func TestEvaluateDoesNotShareState(t *testing.T) {
	origin := Taint{Root: "src", Source: Source{Category: "sanctioned"},
		Path: make([]Hop, 1, 8)} // spare capacity that a careless append would share
	view := mapView{taints: map[string]Taint{"hop1": origin}}
	rs := []Rule{{Name: "r", Destinations: []string{"exchange"}, MaxHops: 5}}
	a := Evaluate(rs, move("ta", "hop1", "x", 1), view)
	b := Evaluate(rs, move("tb", "hop1", "y", 2), view)
	if a.Taints[0].Taint.Path[1].Tx != "ta" || b.Taints[0].Taint.Path[1].Tx != "tb" {
		t.Fatal("two decisions share one path array")
	}
	m := move("tc", "hop1", "z", 3)
	d := Evaluate(rs, m, view)
	m.Outputs[0].Amount.SetInt64(99)
	if d.Taints[0].Taint.Path[1].Amount.Int64() != 3 {
		t.Fatal("the path shares the movement's amount")
	}
}

func TestRuleValidate(t *testing.T) {
	tests := []struct {
		name    string
		give    Rule
		wantErr string
	}{
		{"ok", Rule{Name: "r", Destinations: []string{"exchange"}, MaxHops: 1}, ""},
		{"no name", Rule{Destinations: []string{"exchange"}, MaxHops: 1}, "name"},
		{"no destinations", Rule{Name: "r", MaxHops: 1}, "destinations"},
		{"no hops", Rule{Name: "r", Destinations: []string{"mixer"}}, "max_hops"},
	}
	for _, tt := range tests {
		err := tt.give.Validate()
		if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

// TestDestinationCategories: a rule that names the exchange reaches its deposit addresses
// too (listed or inferred); one that names deposit addresses reaches only those.
func TestDestinationCategories(t *testing.T) {
	lazarus := Source{Entity: "Lazarus Group", Category: "sanctioned"}
	view := mapView{sources: map[string]Source{"src": lazarus},
		labels: map[string]Label{"hot": {Category: CategoryExchange, Entity: "Binance"},
			"dep": {Category: CategoryExchangeDeposit, Entity: "Binance", List: "inferred",
				Evidence: "0xsweep"}}}
	rs := []Rule{
		{Name: "exchange", Destinations: []string{CategoryExchange}, MaxHops: 2},
		{Name: "deposit", Destinations: []string{CategoryExchangeDeposit}, MaxHops: 2},
		{Name: "mixer", Destinations: []string{"mixer"}, MaxHops: 2},
	}
	tests := []struct {
		name string
		give string
		want string // rules that alert
	}{
		{name: "hot wallet", give: "hot", want: "exchange"},
		{name: "deposit address", give: "dep", want: "exchange deposit"},
		{name: "unlabelled", give: "fresh", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Evaluate(rs, move("t1", "src", tt.give, 5), view)
			var got []string
			for _, f := range d.Findings {
				got = append(got, f.Rule.Name)
				if f.Label != view.labels[tt.give] {
					t.Errorf("finding's label %+v", f.Label)
				}
			}
			if strings.Join(got, " ") != tt.want {
				t.Fatalf("alerting rules %q, want %q", got, tt.want)
			}
			if _, labelled := view.labels[tt.give]; labelled && len(d.Taints) > 0 {
				t.Fatalf("a labelled destination is followed: %+v", d.Taints)
			}
		})
	}
}

// TestDepositLogs: a transfer that a recognized deposit log marks reaches the contract that
// emitted it (labelled by the lists, or by the log), not the router it paid; an event
// movement alerts with the sender's tainted share but debits nothing (it moved nothing).
func TestDepositLogs(t *testing.T) {
	lazarus := Source{Entity: "Lazarus Group", Category: "sanctioned"}
	held := Taint{Root: "src", Source: lazarus, Path: []Hop{{Tx: "t0", From: "src", To: "a",
		Amount: big.NewInt(100)}}, Holdings: []Holding{{Asset: "native",
		Balance: big.NewInt(100), Tainted: big.NewInt(40)}}}
	view := mapView{sources: map[string]Source{"src": lazarus},
		labels: map[string]Label{"pool": {Category: "mixer", Entity: "Tornado Cash 1 ETH pool",
			List: "tornado-cli"}},
		taints: map[string]Taint{"a": held, "h/a": held}}
	rs := []Rule{{Name: "poison", Destinations: []string{"mixer", "bridge"}, MaxHops: 3},
		{Name: "haircut", Destinations: []string{"mixer", "bridge"}, MaxHops: 3,
			Model: ModelHaircut}}
	marked := func(kind chains.Kind, to, event, contract string) *chains.Movement {
		m := move("t1", "a", to, 10)
		m.Kind, m.Event, m.EventContract = kind, event, contract
		return m
	}
	tests := []struct {
		name       string
		give       *chains.Movement
		want       string // per finding "rule destination entity tainted"
		wantTaints string // keys written, sorted
	}{
		{name: "through a router into a listed pool",
			give: marked(chains.KindNative, "router", chains.EventMixerDeposit, "pool"),
			want: "poison pool Tornado Cash 1 ETH pool 10, haircut pool Tornado Cash 1 ETH " +
				"pool 4", wantTaints: "h/a"}, // A's haircut debit; the router is not followed
		{name: "into a pool no list names",
			give: marked(chains.KindNative, "pool2", chains.EventMixerDeposit, "pool2"),
			want: "poison pool2 mixer pool (Tornado Cash Deposit log) 10, haircut pool2 " +
				"mixer pool (Tornado Cash Deposit log) 4", wantTaints: "h/a"},
		{name: "an event movement",
			give: marked(chains.KindEvent, "bridge", chains.EventBridgeDeposit, "bridge"),
			want: "poison bridge bridge (deposit log) 10, haircut bridge bridge (deposit log) 4"},
		{name: "the same payment unmarked", give: move("t1", "a", "router", 10),
			wantTaints: "h/a h/router router"}, // the debit; the router followed
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Evaluate(rs, tt.give, view)
			var got []string
			for _, f := range d.Findings {
				got = append(got, f.Rule.Name+" "+f.Destination+" "+f.Label.Entity+" "+
					f.Tainted.String())
			}
			if strings.Join(got, ", ") != tt.want {
				t.Fatalf("findings %q, want %q", strings.Join(got, ", "), tt.want)
			}
			var keys []string
			for _, nt := range d.Taints {
				keys = append(keys, nt.Address)
			}
			sort.Strings(keys)
			if strings.Join(keys, " ") != tt.wantTaints {
				t.Fatalf("taints written on %q, want %q", keys, tt.wantTaints)
			}
		})
	}
}
