package rules

import (
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/chains"
)

func TestSplitKey(t *testing.T) {
	tests := []struct{ give, wantPrefix, wantBase string }{
		{"0xab", "", "0xab"},
		{"h/0xab", "h/", "0xab"},
		{ModelKey(ModelFIFO, OutpointKey("tx", 3)), "f/", "tx:3"},
		{PatternKey(PatternFanOut, "0xab"), "p/fan_out/", "0xab"},
		{"d/bc1q", "d/", "bc1q"},
	}
	for _, tt := range tests {
		if p, b := SplitKey(tt.give); p != tt.wantPrefix || b != tt.wantBase {
			t.Errorf("SplitKey(%q) = %q, %q; want %q, %q", tt.give, p, b, tt.wantPrefix,
				tt.wantBase)
		}
	}
}

func TestPrefixesAndBases(t *testing.T) {
	poison := Rule{Name: "p", Destinations: []string{"exchange"}, MaxHops: 2}
	fifo := Rule{Name: "f", Destinations: []string{"exchange"}, MaxHops: 2, Model: ModelFIFO}
	direct := Rule{Name: "d", Direct: true}
	swap := Rule{Name: "s", Pattern: PatternSwap}
	dormant := Rule{Name: "z", Pattern: PatternDormant, Idle: time.Hour}
	btc := utxo("tx", []in{{"A", "p:3", 1}}, []out{{"B", 1}, {"", 0}})
	btc.Inputs = append(btc.Inputs, chains.Leg{Coinbase: true, Amount: new(big.Int)})
	event := move("0xt", "0xa", "0xrouter", 1)
	event.EventContract = "0xpool"
	tests := []struct {
		name         string
		give         []Rule
		m            *chains.Movement
		wantPrefixes string
		wantBases    string
	}{
		{"poison on a transfer", []Rule{poison}, move("0xt", "0xa", "0xb", 1), "''",
			"0xa 0xb"},
		{"fifo and poison", []Rule{fifo, poison, direct}, move("0xt", "0xa", "0xb", 1),
			"'' f/", "0xa 0xb"},
		{"direct rules read no store key", []Rule{direct}, move("0xt", "0xa", "0xb", 1), "",
			"0xa 0xb"},
		{"a swap rule reads the transaction", []Rule{swap}, move("0xt", "0xa", "0xb", 1),
			"'' p/token_swap/", "0xa 0xb 0xt"},
		{"a deposit log's contract", []Rule{fifo}, event, "f/", "0xa 0xrouter 0xpool"},
		{"bitcoin: addresses and outpoints", []Rule{poison, dormant}, btc,
			"'' p/dormant/", "A p:3 B tx:0 tx:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []string
			for _, p := range Prefixes(tt.give) {
				if p == "" {
					p = "''"
				}
				ps = append(ps, p)
			}
			if got := strings.Join(ps, " "); got != tt.wantPrefixes {
				t.Errorf("prefixes %q, want %q", got, tt.wantPrefixes)
			}
			if got := strings.Join(AppendBases(nil, tt.give, tt.m), " "); got != tt.wantBases {
				t.Errorf("bases %q, want %q", got, tt.wantBases)
			}
		})
	}
}

// readsView records what Evaluate asks of a View: store keys, and addresses asked about
// (lists and remembered senders).
type readsView struct {
	View
	keys, addrs []string
}

func (v *readsView) Source(a string) (Source, bool) {
	v.addrs = append(v.addrs, a)
	return v.View.Source(a)
}

func (v *readsView) Label(a string) (Label, bool) {
	v.addrs = append(v.addrs, a)
	return v.View.Label(a)
}

func (v *readsView) Taint(p, b string) (Taint, bool) {
	v.keys = append(v.keys, p+b)
	return v.View.Taint(p, b)
}

func (v *readsView) Senders(a string) []Hop {
	v.addrs = append(v.addrs, a)
	if sv, ok := v.View.(SenderView); ok {
		return sv.Senders(a)
	}
	return nil
}

// evaluateChecked is Evaluate, checking the contract AppendBases states: every key read is
// a prefix of Prefixes(rs) on a base of the movement, every address asked about is a base,
// a lazy transaction (Bases.Append) is read only if the sender is listed, and a quiet movement
// (no base holds anything under those prefixes or is listed, the lazy transaction counted
// as holding nothing when the sender is not listed) decides nothing. It reports whether m
// was quiet, and counts the lazy transactions that held something but went unread in
// *skipped.
func evaluateChecked(t testing.TB, rs []Rule, m *chains.Movement, v View,
	skipped *int) (Decision, bool) {
	t.Helper()
	bases, lazyTx := NewBases(rs).Append(nil, m)
	prefixes := Prefixes(rs)
	listed := func(a string) bool {
		_, source := v.Source(a)
		_, label := v.Label(a)
		return source || label
	}
	lazy := "" // the transaction, if it counts as holding nothing
	if lazyTx {
		if bases[len(bases)-1] != m.Tx || bases[0] != m.Inputs[0].Address {
			t.Fatalf("%s: lazy, but the bases %q do not start with the sender and end "+
				"with the transaction", m.Key(), bases)
		}
		if !listed(bases[0]) {
			lazy = m.Tx
		}
	}
	quiet := true
	for _, b := range bases {
		quiet = quiet && !listed(b)
		for _, p := range prefixes {
			if _, held := v.Taint(p, b); held && b == lazy {
				*skipped++
			} else {
				quiet = quiet && !held
			}
		}
	}
	rv := &readsView{View: v}
	d := Evaluate(rs, m, rv)
	for _, k := range rv.keys {
		if p, b := SplitKey(k); !slices.Contains(prefixes, p) || !slices.Contains(bases, b) {
			t.Errorf("%s: Evaluate read %q, outside Prefixes %q × bases %q", m.Key(), k,
				prefixes, bases)
		} else if b == lazy {
			t.Errorf("%s: Evaluate read %q, the transaction, though the sender is not "+
				"listed (lazy)", m.Key(), k)
		}
	}
	for _, a := range rv.addrs {
		if !slices.Contains(bases, a) {
			t.Errorf("%s: Evaluate asked about %q, not a base %q", m.Key(), a, bases)
		}
	}
	if quiet && (len(d.Findings) > 0 || len(d.Taints) > 0 || len(d.Capped) > 0) {
		t.Errorf("%s: quiet movement decided %d findings, %d taints, %d capped", m.Key(),
			len(d.Findings), len(d.Taints), len(d.Capped))
	}
	return d, quiet
}

// contractRules are rules of every kind, with small thresholds so that random traffic
// trips them.
func contractRules() []Rule {
	dests := []string{CategoryExchange, CategoryMixer, CategoryBridge}
	return []Rule{
		{Name: "p", Destinations: dests, MaxHops: 3, MaxTracked: 6},
		{Name: "h", Destinations: dests, MaxHops: 4, Model: ModelHaircut},
		{Name: "f", Destinations: dests, MaxHops: 4, Model: ModelFIFO, MaxTracked: 8},
		{Name: "d", Direct: true},
		{Name: "fan-out", Pattern: PatternFanOut, Count: 3, Window: time.Hour},
		{Name: "fan-in", Pattern: PatternFanIn, Count: 2, Window: time.Hour},
		{Name: "dormant", Pattern: PatternDormant, Idle: 2 * time.Hour},
		{Name: "swap", Pattern: PatternSwap},
		{Name: "peel", Pattern: PatternPeel, Count: 2, PeelPercent: 40},
	}
}

// TestEvaluateContract plays random traffic among sources, services and plain addresses,
// on an account chain and on Bitcoin, under every rule alone and all together, checking
// AppendBases' contract on every movement. The run must trip rules and see quiet movements,
// or it proves nothing.
func TestEvaluateContract(t *testing.T) {
	all := contractRules()
	sets := [][]Rule{all}
	for i := range all {
		sets = append(sets, all[i:i+1])
	}
	for _, rs := range sets {
		names := make([]string, len(rs))
		for i := range rs {
			names[i] = rs[i].Name
		}
		t.Run(strings.Join(names, ","), func(t *testing.T) {
			var quiet, loud, findings, taints, skipped int
			for seed := range uint64(8) {
				c := newContractRun(seed)
				for range 400 {
					m := c.next()
					d, q := evaluateChecked(t, rs, m, c.v, &skipped)
					if t.Failed() {
						return
					}
					c.v.store(d)
					c.observe(m, d)
					if q {
						quiet++
					} else {
						loud++
					}
					findings += len(d.Findings)
					taints += len(d.Taints)
				}
			}
			if quiet == 0 || loud == 0 || len(rs) > 1 && (findings == 0 || taints == 0 ||
				skipped == 0) {
				t.Fatalf("vacuous run: %d quiet, %d not, %d findings, %d taints, %d lazy "+
					"transactions held something", quiet, loud, findings, taints, skipped)
			}
		})
	}
}

// contractRun makes random movements and keeps the view they are judged in.
type contractRun struct {
	rng   *mrand.Rand
	v     scenarioView
	at    time.Time
	n     int
	tx    string
	addrs []string
	utxos []chains.Leg // unspent outputs, as inputs that would spend them
}

func newContractRun(seed uint64) *contractRun {
	c := &contractRun{rng: mrand.New(mrand.NewPCG(seed, 7)), at: time.Unix(1e9, 0).UTC(),
		v: scenarioView{mapView: mapView{
			sources: map[string]Source{"S1": {Category: "sanctioned", Entity: "Lazarus"},
				"S2": {Category: "ransomware", Entity: "WannaCry"}},
			labels: map[string]Label{"EX": {Category: CategoryExchange},
				"ED": {Category: CategoryExchangeDeposit}, "MX": {Category: CategoryMixer},
				"DX": {Category: CategoryDEX}, "BR": {Category: CategoryBridge}},
			taints: map[string]Taint{}, tracked: map[string]int64{}},
			paid: map[string][]Hop{}}}
	c.addrs = []string{"S1", "S2", "EX", "ED", "MX", "DX", "BR"}
	for i := range 10 {
		c.addrs = append(c.addrs, fmt.Sprintf("A%d", i))
	}
	return c
}

// addr is a known address, or now and then a fresh one.
func (c *contractRun) addr() string {
	if c.rng.IntN(5) == 0 {
		c.n++
		return fmt.Sprintf("N%d", c.n)
	}
	return c.addrs[c.rng.IntN(len(c.addrs))]
}

func (c *contractRun) next() *chains.Movement {
	c.n++
	c.at = c.at.Add(time.Duration(c.rng.IntN(40)) * time.Minute)
	if c.tx == "" || c.rng.IntN(3) > 0 { // a third of movements share the last transaction
		c.tx = fmt.Sprintf("t%d", c.n)
	}
	m := &chains.Movement{Chain: "ethereum", Tx: c.tx, Position: fmt.Sprintf("log:%d", c.n),
		Kind: chains.KindToken, Block: chains.BlockRef{Number: uint64(c.n), Time: c.at}}
	if c.rng.IntN(3) == 0 {
		return c.nextUTXO(m)
	}
	asset := []string{chains.AssetNative, "tok"}[c.rng.IntN(2)]
	amount := big.NewInt(1 + c.rng.Int64N(100))
	m.Inputs = []chains.Leg{{Address: c.addr(), Asset: asset, Amount: amount}}
	m.Outputs = []chains.Leg{{Address: c.addr(), Asset: asset, Amount: amount}}
	if c.rng.IntN(10) == 0 { // a router deposit into a pool that a log names
		m.Event, m.EventContract = chains.EventMixerDeposit, "POOL"
	}
	return m
}

func (c *contractRun) nextUTXO(m *chains.Movement) *chains.Movement {
	m.Chain, m.Kind, m.Position = "bitcoin", chains.KindUTXO, chains.PositionTx
	m.Tx = fmt.Sprintf("b%d", c.n)
	total := int64(0)
	for range 1 + c.rng.IntN(2) {
		var in chains.Leg
		if len(c.utxos) > 0 && c.rng.IntN(4) > 0 {
			k := c.rng.IntN(len(c.utxos))
			in = c.utxos[k]
			c.utxos = slices.Delete(c.utxos, k, k+1)
		} else {
			in = chains.Leg{Address: c.addr(), Asset: chains.AssetNative,
				Amount: big.NewInt(1 + c.rng.Int64N(100)), PrevTx: fmt.Sprintf("x%d", c.n),
				PrevIndex: uint32(c.rng.IntN(3))}
		}
		total += in.Amount.Int64()
		m.Inputs = append(m.Inputs, in)
	}
	outs := 1 + c.rng.IntN(3)
	for j := range outs {
		a, v := c.addr(), total/int64(outs)
		if c.rng.IntN(12) == 0 {
			a = "" // OP_RETURN
		}
		if outs == 2 { // peel-shaped: a small part and the rest
			v = []int64{total / 5, total - total/5 - 1}[j]
		}
		o := chains.Leg{Address: a, Asset: chains.AssetNative, Amount: big.NewInt(v),
			Index: uint32(j)}
		m.Outputs = append(m.Outputs, o)
		if a != "" {
			c.utxos = append(c.utxos, chains.Leg{Address: a, Asset: chains.AssetNative,
				Amount: o.Amount, PrevTx: m.Tx, PrevIndex: o.Index})
		}
	}
	return m
}

// observe remembers an account transfer's payment, as the worker's sender memory does.
func (c *contractRun) observe(m *chains.Movement, _ Decision) {
	if from, to, ok := m.Transfer(); ok {
		c.v.paid[to.Address] = append(c.v.paid[to.Address], HopOf(m, from.Address, *to))
	}
}
