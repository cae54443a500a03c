package rules

import (
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/chains"
)

// The three rules of these tests differ only by model, so that a decision shows what each
// model makes of one movement: findings "p>0=20 h>0=5 f>0=10" read "poison alerts with 20
// tainted, haircut with 5, FIFO with 10".
func threeModels() []Rule {
	r := func(name, model string) Rule {
		return Rule{Name: name, Destinations: []string{"exchange"}, MaxHops: 3, Model: model}
	}
	return []Rule{r("p", ModelPoison), r("h", ModelHaircut), r("f", ModelFIFO)}
}

func lots(spec string) []Lot {
	var out []Lot
	for _, part := range strings.Split(spec, "+") {
		n, _ := new(big.Int).SetString(part[:len(part)-1], 10)
		out = append(out, Lot{Amount: n, Tainted: part[len(part)-1] == 't'})
	}
	return out
}

func hairHolding(tainted, balance int64) []Holding {
	return []Holding{{Asset: chains.AssetNative, Balance: big.NewInt(balance),
		Tainted: big.NewInt(tainted)}}
}

func fifoHolding(spec string) []Holding {
	return []Holding{{Asset: chains.AssetNative, Lots: lots(spec)}}
}

// TestModelsUTXO: worked examples on Bitcoin transactions, by hand. S is a source, C a
// clean output, X an exchange; outputs are listed in order, the fee is what they leave.
func TestModelsUTXO(t *testing.T) {
	one := []Hop{{}}
	view := mapView{
		sources: map[string]Source{"S": {Entity: "Lazarus", Category: "sanctioned"}},
		labels:  map[string]Label{"X": {Category: "exchange", Entity: "Binance"}},
		taints: map[string]Taint{
			// t3:0 holds 20: under FIFO 5 clean then 15 tainted, under haircut 15 tainted,
			// under poison all.
			"t3:0":   {Root: "S", Path: one},
			"h/t3:0": {Root: "S", Path: one, Amount: big.NewInt(15)},
			"f/t3:0": {Root: "S", Path: one, Lots: lots("5c+15t")},
		},
	}
	tests := []struct {
		name string
		give *chains.Movement
		want string
	}{
		// Inputs 10 tainted + 30 clean. Poison: all of both outputs. Haircut: a quarter of
		// each (20/4 = 5, 19/4 = 4.75 -> 4). FIFO: the exchange's 20 is the first 20 of
		// [10t, 30c] (10 tainted), the change 19 is clean: not followed.
		{"mixed inputs, tainted first, with change",
			utxo("b", []in{{"S", "p:0", 10}, {"C", "q:0", 30}}, []out{{"X", 20}, {"F", 19}}),
			"p>0=20 h>0=5 f>0=10 b:1=all(1) h/b:1=4(1) h/r/F=4(1) r/F=all(1)"},
		// The same inputs the other way round: FIFO now pays the exchange clean value
		// (no alert) and the change carries 10 clean then 9 tainted.
		{"mixed inputs, clean first, with change",
			utxo("b", []in{{"C", "q:0", 30}, {"S", "p:0", 10}}, []out{{"X", 20}, {"F", 19}}),
			"p>0=20 h>0=5 b:1=all(1) f/b:1=10c+9t(1) f/r/F=10c+9t(1) h/b:1=4(1) h/r/F=4(1) r/F=all(1)"},
		// Partial spend of a tracked output (fee 1): FIFO takes 5c+3t for the exchange and
		// 11t onward; haircut 8×15/20 = 6 and 11×15/20 = 8.25 -> 8; poison all.
		{"spending a tracked output with a fee",
			utxo("c", []in{{"N", "t3:0", 20}}, []out{{"X", 8}, {"F", 11}}),
			"p>0=8 h>0=6 f>0=3 c:1=all(2) f/c:1=11t(2) f/r/F=11t(2) h/c:1=8(2) h/r/F=8(2) r/F=all(2)"},
		{"source pays a fresh address: all models follow all of it",
			utxo("d", []in{{"S", "p:1", 7}}, []out{{"F", 7}}),
			"d:0=all(1) f/d:0=7t(1) f/r/F=7t(1) h/d:0=7(1) h/r/F=7(1) r/F=all(1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summary(Evaluate(threeModels(), tt.give, view)); got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestModelsAccount: worked examples on an account chain. A received 40 tainted and then
// 60 clean (FIFO: [40t, 60c]; haircut: 40 of 100); A2 received them the other way round.
func TestModelsAccount(t *testing.T) {
	one := []Hop{{}}
	view := mapView{
		sources: map[string]Source{"S": {Entity: "Lazarus", Category: "sanctioned"}},
		labels:  map[string]Label{"X": {Category: "exchange", Entity: "Binance"}},
		taints: map[string]Taint{
			"A":    {Root: "S", Path: one},
			"h/A":  {Root: "S", Path: one, Holdings: hairHolding(40, 100)},
			"f/A":  {Root: "S", Path: one, Holdings: fifoHolding("40t+60c")},
			"A2":   {Root: "S", Path: one},
			"h/A2": {Root: "S", Path: one, Holdings: hairHolding(40, 100)},
			"f/A2": {Root: "S", Path: one, Holdings: fifoHolding("60c+40t")},
		},
	}
	tests := []struct {
		name string
		give *chains.Movement
		want string
	}{
		// Poison: 30. Haircut: 30×40/100 = 12, leaving 28 of 70. FIFO: the first 30 of the
		// 40 tainted, leaving [10t, 60c].
		{"partial spend to an exchange", move("t1", "A", "X", 30),
			"p>0=30 h>0=12 f>0=30 f/A=10t+60c(1) h/A=28/70(1)"},
		// FIFO: the 60 clean leave first: no alert, and A2 keeps its 40 tainted.
		{"clean value arrived first", move("t2", "A2", "X", 30),
			"p>0=30 h>0=12 f/A2=30c+40t(1) h/A2=28/70(1)"},
		// Haircut: 50×40/100 = 20 goes on; FIFO: 40t + 10c.
		{"partial spend to a fresh address", move("t3", "A", "F", 50),
			"F=all(2) f/A=50c(1) f/F=40t+10c(2) h/A=20/50(1) h/F=20/50(2)"},
		// Clean value arriving at A dilutes the haircut share and queues behind under FIFO;
		// poison has nothing to record.
		{"clean deposit to a tracked address", move("t4", "C", "A", 100),
			"f/A=40t+160c(1) h/A=40/200(1)"},
		{"source pays a fresh address", move("t5", "S", "F", 10),
			"F=all(1) f/F=10t(1) h/F=10/10(1)"},
		{"another asset is clean under haircut and FIFO", func() *chains.Movement {
			m := move("t6", "A", "X", 30)
			m.Outputs[0].Asset, m.Inputs[0].Asset = "0xusdt", "0xusdt"
			return m
		}(), "p>0=30"},
		{"zero-value transfers carry nothing", move("t7", "S", "F", 0), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summary(Evaluate(threeModels(), tt.give, view)); got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// play evaluates ms in order over view, storing what each decision tracks, and returns
// the findings in short.
func play(rs []Rule, view mapView, ms ...*chains.Movement) string {
	var finds []string
	for _, m := range ms {
		d := Evaluate(rs, m, view)
		view.store(d)
		for _, f := range d.Findings {
			finds = append(finds, m.Tx+":"+f.Rule.Name+"="+f.Tainted.String())
		}
	}
	return strings.Join(finds, " ")
}

func newView() mapView {
	return mapView{
		sources: map[string]Source{"S": {Entity: "Lazarus", Category: "sanctioned"}},
		labels:  map[string]Label{"X": {Category: "exchange", Entity: "Binance"}},
		taints:  map[string]Taint{}, tracked: map[string]int64{}}
}

// TestModelsSequence plays a laundering run through two hops on an account chain, by hand:
// S pays A 40; a clean 60 joins; A pays the exchange 30 and B 50; B pays the exchange 50.
//
//	poison:  A tainted; X gets 30; B tainted; X gets 50.
//	haircut: A 40/100; X gets 12 (A 28/70); B gets 50×28/70 = 20 (A 8/20); X gets 20.
//	FIFO:    A [40t,60c]; X gets 30 (A [10t,60c]); B gets [10t,40c]; X gets 10.
func TestModelsSequence(t *testing.T) {
	got := play(threeModels(), newView(), move("a", "S", "A", 40), move("b", "C", "A", 60),
		move("c", "A", "X", 30), move("d", "A", "B", 50), move("e", "B", "X", 50))
	if want := "c:p=30 c:h=12 c:f=30 e:p=50 e:h=20 e:f=10"; got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// TestBudgets: each budget stops a rule where it should, and only that rule.
func TestBudgets(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(m *chains.Movement, d time.Duration) *chains.Movement {
		m.Block.Time = t0.Add(d)
		return m
	}
	base := Rule{Destinations: []string{"exchange"}, MaxHops: 3}
	with := func(name string, f func(*Rule)) Rule { r := base; r.Name = name; f(&r); return r }
	tests := []struct {
		name  string
		rules []Rule
		give  []*chains.Movement
		want  string
	}{
		{"minimum amount per asset: haircut's 12 is under 15, poison's 30 is not",
			[]Rule{
				with("p", func(r *Rule) { r.MinAmount = map[string]*big.Int{"native": big.NewInt(15)} }),
				with("h", func(r *Rule) {
					r.Model = ModelHaircut
					r.MinAmount = map[string]*big.Int{"native": big.NewInt(15)}
				})},
			[]*chains.Movement{move("a", "S", "A", 40), move("b", "C", "A", 60),
				move("c", "A", "X", 30)},
			"c:p=30"},
		{"a minimum on another asset does not apply",
			[]Rule{with("p", func(r *Rule) {
				r.MinAmount = map[string]*big.Int{"0xusdt": big.NewInt(1000)}
			})},
			[]*chains.Movement{move("a", "S", "X", 5)}, "a:p=5"},
		{"time window: the exchange is reached 2h after the funds left the source",
			[]Rule{with("w1h", func(r *Rule) { r.Window = time.Hour }),
				with("w3h", func(r *Rule) { r.Window = 3 * time.Hour })},
			[]*chains.Movement{at(move("a", "S", "A", 40), 0),
				at(move("b", "A", "X", 40), 2*time.Hour)},
			"b:w3h=40"},
		{"hops: the second hop is beyond a one-hop rule",
			[]Rule{with("h1", func(r *Rule) { r.MaxHops = 1 }),
				with("h2", func(r *Rule) { r.MaxHops = 2 })},
			[]*chains.Movement{move("a", "S", "A", 40), move("b", "A", "X", 40)},
			"b:h2=40"},
		{"tracked cap: the second fresh address is not followed",
			[]Rule{with("cap", func(r *Rule) { r.MaxTracked = 1 })},
			[]*chains.Movement{move("a", "S", "A", 40), move("b", "S", "B", 40),
				move("c", "A", "X", 40), move("d", "B", "X", 40)},
			"c:cap=40"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := play(tt.rules, newView(), tt.give...); got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestCapReported: a decision names the counter whose cap kept an address untracked.
func TestCapReported(t *testing.T) {
	v := newView()
	v.tracked[Counter(ModelPoison, "S")] = 2
	d := Evaluate([]Rule{{Name: "r", Destinations: []string{"exchange"}, MaxHops: 3,
		MaxTracked: 2}}, move("a", "S", "F", 1), v)
	if len(d.Taints) != 0 || strings.Join(d.Capped, ",") != "poison|S" {
		t.Fatalf("taints %v capped %v", d.Taints, d.Capped)
	}
}

// TestLots: the FIFO queue arithmetic on its edges.
func TestLots(t *testing.T) {
	tests := []struct {
		name                string
		queue               string
		take                int64
		wantTaken, wantRest string
	}{
		{"within the first lot", "10t+5c", 4, "4t", "6t+5c"},
		{"exactly the first lot", "10t+5c", 10, "10t", "5c"},
		{"across lots", "10t+5c+3t", 12, "10t+2c", "3c+3t"},
		{"more than held: the rest is clean", "2t", 5, "2t+3c", ""},
	}
	for _, tt := range tests {
		taken, rest := takeLots(lots(tt.queue), big.NewInt(tt.take))
		if lotString(taken) != tt.wantTaken || lotString(rest) != tt.wantRest {
			t.Errorf("%s: took %q left %q, want %q and %q", tt.name, lotString(taken),
				lotString(rest), tt.wantTaken, tt.wantRest)
		}
	}
	q := lots("10t")
	takeLots(q, big.NewInt(4))
	if q[0].Amount.Int64() != 10 {
		t.Fatal("takeLots changed its argument")
	}
}
