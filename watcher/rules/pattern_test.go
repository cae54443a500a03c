package rules

import (
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/chains"
)

// step is a transfer at a minute of block time.
type step struct {
	min      int
	from, to string
}

// playSteps evaluates steps in order, storing each decision's taint in v as the worker does,
// and returns per finding "<rule> <subject> <evidence hops' receivers>".
func playSteps(rs []Rule, v mapView, steps []step) []string {
	var out []string
	for i, s := range steps {
		m := move(fmt.Sprintf("t%d", i), s.from, s.to, 10)
		m.Block.Time = time.Unix(0, 0).Add(time.Duration(s.min) * time.Minute)
		d := Evaluate(rs, m, v)
		v.store(d)
		out = append(out, findingSummaries(d)...)
	}
	return out
}

// findingSummaries is per finding "<rule> <subject> <the receivers of its path's hops>".
func findingSummaries(d Decision) []string {
	var out []string
	for _, f := range d.Findings {
		var to []string
		for _, h := range f.Path {
			to = append(to, h.To)
		}
		out = append(out, f.Rule.Name+" "+f.Destination+" "+strings.Join(to, ","))
	}
	return out
}

func TestFanOut(t *testing.T) {
	rs := []Rule{{Name: "fan", Pattern: PatternFanOut, Count: 3, Window: time.Hour},
		{Name: "to-exchange", Destinations: []string{"exchange"}, MaxHops: 3}}
	tests := []struct {
		name  string
		steps []step
		want  string
	}{
		{name: "three fresh addresses within the hour", want: "fan src a,b,c", steps: []step{
			{0, "src", "a"}, {10, "src", "b"}, {20, "src", "c"}, {30, "src", "d"}}},
		{name: "a followed address fans out", want: "fan a x,y,z", steps: []step{
			{0, "src", "a"}, {70, "a", "x"}, {71, "a", "y"}, {72, "a", "z"}}},
		{name: "spread over more than the hour", steps: []step{
			{0, "src", "a"}, {40, "src", "b"}, {80, "src", "c"}, {120, "src", "d"}}},
		{name: "the same address paid again", steps: []step{
			{0, "src", "a"}, {1, "src", "a"}, {2, "src", "b"}}},
		{name: "services and followed addresses are not fresh",
			want: "to-exchange binance binance", steps: []step{
				{0, "src", "a"}, {1, "src", "binance"}, {2, "src", "b"}, {3, "src", "a"}}},
		{name: "clean wallet paying many (payroll)", steps: []step{
			{0, "clean", "a"}, {1, "clean", "b"}, {2, "clean", "c"}, {3, "clean", "d"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := mapView{sources: map[string]Source{"src": {Category: "hack"}},
				labels: map[string]Label{"binance": {Category: "exchange"}},
				taints: map[string]Taint{}}
			if got := strings.Join(playSteps(rs, v, tt.steps), "; "); got != tt.want {
				t.Fatalf("findings %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDormant(t *testing.T) {
	rs := []Rule{{Name: "dormant", Pattern: PatternDormant, Idle: 7 * 24 * time.Hour}}
	const day = 24 * 60
	tests := []struct {
		name  string
		steps []step
		want  string
	}{
		{name: "still for ten days", want: "dormant src x,y", steps: []step{
			{0, "src", "x"}, {10 * day, "src", "y"}, {12 * day, "src", "z"}}},
		{name: "still for six days", steps: []step{{0, "src", "x"}, {6 * day, "src", "y"}}},
		{name: "first movement seen", steps: []step{{100 * day, "src", "x"}}},
		{name: "an unwatched address", steps: []step{{0, "a", "x"}, {10 * day, "a", "y"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := mapView{sources: map[string]Source{"src": {Category: "sanctioned"}},
				taints: map[string]Taint{}}
			if got := strings.Join(playSteps(rs, v, tt.steps), "; "); got != tt.want {
				t.Fatalf("findings %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDormantBitcoin(t *testing.T) {
	rs := []Rule{{Name: "dormant", Pattern: PatternDormant, Idle: 30 * 24 * time.Hour}}
	v := mapView{sources: map[string]Source{"bc1src": {Category: "ransomware"}},
		taints: map[string]Taint{}}
	spend := func(tx string, at time.Time) *chains.Movement {
		return &chains.Movement{Chain: "bitcoin", Tx: tx, Kind: chains.KindUTXO,
			Position: chains.PositionTx, Block: chains.BlockRef{Time: at},
			Inputs: []chains.Leg{{Address: "bc1src", Asset: "native", Amount: big.NewInt(9),
				PrevTx: "p", PrevIndex: 0}},
			Outputs: []chains.Leg{{Address: "bc1out", Asset: "native", Amount: big.NewInt(8),
				Index: 0}}}
	}
	t0 := time.Date(2017, 5, 12, 0, 0, 0, 0, time.UTC)
	for i, at := range []time.Time{t0, t0.AddDate(0, 2, 0)} {
		d := Evaluate(rs, spend(fmt.Sprintf("t%d", i), at), v)
		v.store(d)
		if want := i; len(d.Findings) != want {
			t.Fatalf("spend %d: %d findings, want %d", i, len(d.Findings), want)
		}
		if i == 1 && (d.Findings[0].Path[1].Position != "vout:0" ||
			d.Findings[0].Label.Entity != "moved after 61 days still") {
			t.Fatalf("finding %+v", d.Findings[0])
		}
	}
}

func TestPatternValidate(t *testing.T) {
	tests := []struct {
		name    string
		give    Rule
		wantErr string
	}{
		{name: "fan-out", give: Rule{Name: "f", Pattern: PatternFanOut, Count: 5,
			Window: time.Hour}},
		{name: "fan-out of one", give: Rule{Name: "f", Pattern: PatternFanOut, Count: 1,
			Window: time.Hour}, wantErr: "count 1"},
		{name: "fan-out without window", give: Rule{Name: "f", Pattern: PatternFanOut,
			Count: 5}, wantErr: "window"},
		{name: "dormant without idle", give: Rule{Name: "d", Pattern: PatternDormant},
			wantErr: "idle"},
		{name: "unknown", give: Rule{Name: "u", Pattern: "zigzag"}, wantErr: `"zigzag"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.give.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" &&
				(err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// peelTx spends prev:index (paid to from) into a peel of peel satoshi to peelTo and the
// rest to restTo (output 1).
func peelTx(tx, prev string, index uint32, from, peelTo, restTo string, peel,
	rest int64) *chains.Movement {
	return &chains.Movement{Chain: "bitcoin", Tx: tx, Kind: chains.KindUTXO,
		Position: chains.PositionTx,
		Inputs: []chains.Leg{{Address: from, Asset: "native", Amount: big.NewInt(peel + rest + 1),
			PrevTx: prev, PrevIndex: index}},
		Outputs: []chains.Leg{
			{Address: peelTo, Asset: "native", Amount: big.NewInt(peel), Index: 0},
			{Address: restTo, Asset: "native", Amount: big.NewInt(rest), Index: 1}}}
}

func TestPeelChain(t *testing.T) {
	rs := []Rule{{Name: "peel", Pattern: PatternPeel, Count: 3}}
	tests := []struct {
		name  string
		from  string // who starts the run
		peels [][2]int64
		want  string
	}{
		{name: "three peels from a watched address", from: "src",
			peels: [][2]int64{{10, 90}, {10, 79}, {10, 68}, {10, 57}},
			want:  "peel r3 p1,p2,p3"},
		{name: "the rest is the first output", from: "src",
			peels: [][2]int64{{90, 10}, {79, 10}, {68, 10}},
			want:  "peel r3 p1,p2,p3"},
		{name: "a clean run", from: "clean", peels: [][2]int64{{10, 90}, {10, 79}, {10, 68}}},
		{name: "an even split breaks the run", from: "src",
			peels: [][2]int64{{10, 90}, {40, 49}, {10, 38}, {10, 27}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := mapView{sources: map[string]Source{"src": {Category: "ransomware"}},
				taints: map[string]Taint{}}
			var got []string
			prev, index, from := "funding", uint32(0), tt.from
			for i, p := range tt.peels {
				peelTo, restTo := fmt.Sprintf("p%d", i+1), fmt.Sprintf("r%d", i+1)
				m := peelTx(fmt.Sprintf("t%d", i+1), prev, index, from, peelTo, restTo, p[0],
					p[1])
				if p[0] > p[1] { // the rest is output 0
					m.Outputs[0].Address, m.Outputs[1].Address = restTo, peelTo
				}
				d := Evaluate(rs, m, v)
				v.store(d)
				got = append(got, findingSummaries(d)...)
				prev, from = m.Tx, restTo
				index = 1
				if p[0] > p[1] {
					index = 0
				}
			}
			if g := strings.Join(got, "; "); g != tt.want {
				t.Fatalf("findings %q, want %q", g, tt.want)
			}
		})
	}
}

func TestTokenSwap(t *testing.T) {
	rs := []Rule{{Name: "swap", Pattern: PatternSwap},
		{Name: "to-exchange", Destinations: []string{"exchange"}, MaxHops: 4}}
	type leg struct{ from, to, asset string }
	tests := []struct {
		name string
		give []leg // one transaction's movements, in order
		then leg   // a later transaction
		want string
	}{
		{name: "watched tokens swapped to a fresh address",
			give: []leg{{"src", "dex", "usdt"}, {"dex", "fresh", "weth"}},
			then: leg{"fresh", "binance", "weth"},
			want: "swap fresh dex,fresh; to-exchange binance dex,fresh,binance"},
		{name: "swapped back to the payer",
			give: []leg{{"a", "dex", "usdt"}, {"dex", "a", "weth"}},
			want: "swap a a,dex,a"},
		{name: "same asset back (not a swap)",
			give: []leg{{"src", "dex", "usdt"}, {"dex", "fresh", "usdt"}}},
		{name: "a clean wallet's swap",
			give: []leg{{"clean", "dex", "usdt"}, {"dex", "fresh", "weth"}},
			then: leg{"fresh", "binance", "weth"}},
		{name: "paid by a non-DEX",
			give: []leg{{"src", "dex", "usdt"}, {"shop", "fresh", "weth"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := mapView{sources: map[string]Source{"src": {Category: "hack"}},
				labels: map[string]Label{"dex": {Category: CategoryDEX, Entity: "Uniswap"},
					"binance": {Category: "exchange"}},
				taints: map[string]Taint{"a": {Root: "src", Path: []Hop{{From: "src",
					To: "a"}}}}}
			var got []string
			run := func(tx string, l leg) {
				m := move(tx, l.from, l.to, 10)
				m.Inputs[0].Asset, m.Outputs[0].Asset = l.asset, l.asset
				d := Evaluate(rs, m, v)
				v.store(d)
				got = append(got, findingSummaries(d)...)
			}
			for _, l := range tt.give {
				run("t1", l)
			}
			if tt.then.from != "" {
				run("t2", tt.then)
			}
			if g := strings.Join(got, "; "); g != tt.want {
				t.Fatalf("findings %q, want %q", g, tt.want)
			}
		})
	}
}

// senderView adds what the worker remembers of recent payments to a mapView.
type senderView struct {
	mapView
	senders map[string][]Hop
}

func (v senderView) Senders(a string) []Hop { return v.senders[a] }

func TestFanIn(t *testing.T) {
	rs := []Rule{{Name: "fan-in", Pattern: PatternFanIn, Count: 3, Window: time.Hour}}
	paid := func(min int, from string) Hop {
		return Hop{From: from, To: "c", Amount: big.NewInt(1),
			Time: time.Unix(0, 0).Add(time.Duration(min) * time.Minute)}
	}
	tests := []struct {
		name    string
		senders []Hop
		to      string
		label   string // the payer's category, if a list labels it
		want    string
		wantCP  bool // the payer is recorded as the watched address's counterparty
	}{
		{name: "three senders pooled, paid to a source", to: "src", wantCP: true,
			senders: []Hop{paid(0, "e1"), paid(1, "e2"), paid(2, "e3")},
			want:    "fan-in c e1,e2,e3,c->src"},
		{name: "paid to a followed address", to: "tainted",
			senders: []Hop{paid(0, "e1"), paid(1, "e2"), paid(2, "e3")},
			want:    "fan-in c e1,e2,e3,c->tainted"},
		{name: "two senders", to: "src", wantCP: true,
			senders: []Hop{paid(0, "e1"), paid(1, "e2")}},
		{name: "one sender too old", to: "src", wantCP: true,
			senders: []Hop{paid(-120, "e1"), paid(1, "e2"), paid(2, "e3")}},
		{name: "paid to a clean address", to: "clean",
			senders: []Hop{paid(0, "e1"), paid(1, "e2"), paid(2, "e3")}},
		// An exchange's hot wallet, paid by its customers, pays a source (a withdrawal): a
		// counterparty, not a pooling address.
		{name: "a labelled service pays a source", to: "src", label: CategoryExchange,
			wantCP:  true,
			senders: []Hop{paid(0, "e1"), paid(1, "e2"), paid(2, "e3")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := senderView{mapView: mapView{sources: map[string]Source{"src": {}},
				taints: map[string]Taint{"tainted": {Root: "src"}}},
				senders: map[string][]Hop{"c": tt.senders}}
			if tt.label != "" {
				v.labels = map[string]Label{"c": {Category: tt.label, Entity: "Binance"}}
			}
			m := move("t9", "c", tt.to, 5)
			m.Block.Time = time.Unix(0, 0).Add(10 * time.Minute)
			d := Evaluate(rs, m, v)
			var got []string
			for _, f := range d.Findings {
				var from []string
				for _, h := range f.Path {
					from = append(from, h.From)
				}
				got = append(got, f.Rule.Name+" "+f.Destination+" "+strings.Join(from, ",")+
					"->"+f.Path[len(f.Path)-1].To)
			}
			if g := strings.Join(got, "; "); g != tt.want {
				t.Fatalf("findings %q, want %q", g, tt.want)
			}
			cp := false
			for _, nt := range d.Taints {
				cp = cp || nt.Address == PatternKey(PatternCounterparty, "c")
			}
			if cp != tt.wantCP {
				t.Fatalf("counterparty recorded %v, want %v", cp, tt.wantCP)
			}
			// Once alerted, the pooling address does not alert again.
			v.store(d)
			if d2 := Evaluate(rs, m, v); len(d2.Findings) != 0 {
				t.Fatalf("alerted again: %+v", d2.Findings)
			}
		})
	}
}
