package deposit

import (
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

const (
	hot   = "0xhot"   // a labelled exchange hot wallet
	mixer = "0xmixer" // a labelled mixer
	lazar = "0xlazarus"
	usdt  = "0xusdt"
)

// lists is a View over fixed sources and labels, and the inferences stored so far.
type lists struct{ inferred map[string]rules.Taint }

func (l *lists) Source(a string) (rules.Source, bool) {
	return rules.Source{Category: "sanctioned"}, a == lazar
}

func (l *lists) Label(a string) (rules.Label, bool) {
	switch a {
	case hot:
		return rules.Label{Category: rules.CategoryExchange, Entity: "Binance", List: "t"}, true
	case mixer:
		return rules.Label{Category: "mixer", Entity: "Tornado Cash", List: "t"}, true
	}
	if t, ok := l.inferred[Key(a)]; ok {
		return Label(t), true
	}
	return rules.Label{}, false
}

// step is a transfer at a minute of block time; amounts in base units.
type step struct {
	min      int
	from, to string
	asset    string // "" native
	amount   int64
	again    bool // the previous step's movement delivered again
	removed  bool // a reorg removed the previous step's movement
}

func TestObserve(t *testing.T) {
	const tol = 10 // the native tolerance in these tests
	tests := []struct {
		name  string
		steps []step
		want  []string // addresses inferred, in order
	}{
		{name: "forward less the fee", want: []string{"0xd"}, steps: []step{
			{min: 0, from: "0xu", to: "0xd", amount: 1000},
			{min: 5, from: "0xd", to: hot, amount: 995}}},
		{name: "forward in full", want: []string{"0xd"}, steps: []step{
			{min: 0, from: "0xu", to: "0xd", amount: 1000},
			{min: 5, from: "0xd", to: hot, amount: 1000}}},
		{name: "forward short by more than the tolerance", steps: []step{
			{min: 0, from: "0xu", to: "0xd", amount: 1000},
			{min: 5, from: "0xd", to: hot, amount: 989}}},
		{name: "forward more than arrived", steps: []step{
			{min: 0, from: "0xu", to: "0xd", amount: 1000},
			{min: 5, from: "0xd", to: hot, amount: 1001}}},
		{name: "forward after the window", steps: []step{
			{min: 0, from: "0xu", to: "0xd", amount: 1000},
			{min: 61, from: "0xd", to: hot, amount: 1000}}},
		{name: "token forwarded exactly", want: []string{"0xd"}, steps: []step{
			{min: 0, from: "0xu", to: "0xd", asset: usdt, amount: 500},
			{min: 0, from: "0xd", to: hot, asset: usdt, amount: 500}}},
		{name: "token short by one unit (no tolerance)", steps: []step{
			{min: 0, from: "0xu", to: "0xd", asset: usdt, amount: 500},
			{min: 0, from: "0xd", to: hot, asset: usdt, amount: 499}}},
		{name: "another asset forwarded", steps: []step{
			{min: 0, from: "0xu", to: "0xd", asset: usdt, amount: 500},
			{min: 0, from: "0xd", to: hot, amount: 500}}},
		{name: "two deposits swept together", want: []string{"0xd"}, steps: []step{
			{min: 0, from: "0xu", to: "0xd", amount: 300},
			{min: 1, from: "0xv", to: "0xd", amount: 700},
			{min: 5, from: "0xd", to: hot, amount: 995}}},
		{name: "a deposit delivered twice counts once", want: []string{"0xd"}, steps: []step{
			{min: 0, from: "0xu", to: "0xd", amount: 300},
			{min: 1, from: "0xv", to: "0xd", amount: 700},
			{min: 1, again: true},
			{min: 5, from: "0xd", to: hot, amount: 1000}}},
		{name: "a removed deposit is forgotten", steps: []step{
			{min: 0, from: "0xu", to: "0xd", amount: 1000},
			{min: 0, removed: true},
			{min: 5, from: "0xd", to: hot, amount: 1000}}},
		{name: "paid elsewhere first", steps: []step{
			{min: 0, from: "0xu", to: "0xd", amount: 1000},
			{min: 1, from: "0xd", to: "0xe", amount: 10},
			{min: 5, from: "0xd", to: hot, amount: 990}}},
		{name: "forward to a mixer", steps: []step{
			{min: 0, from: "0xu", to: "0xd", amount: 1000},
			{min: 5, from: "0xd", to: mixer, amount: 1000}}},
		{name: "a watched source is no deposit address", steps: []step{
			{min: 0, from: "0xu", to: lazar, amount: 1000},
			{min: 5, from: lazar, to: hot, amount: 1000}}},
		{name: "a withdrawal sent straight back (the heuristic cannot tell)", want: []string{"0xd"},
			steps: []step{
				{min: 0, from: hot, to: "0xd", amount: 1000},
				{min: 5, from: "0xd", to: hot, amount: 1000}}},
		{name: "inferred once", want: []string{"0xd"}, steps: []step{
			{min: 0, from: "0xu", to: "0xd", amount: 1000},
			{min: 5, from: "0xd", to: hot, amount: 1000},
			{min: 6, from: "0xv", to: "0xd", amount: 1000},
			{min: 7, from: "0xd", to: hot, amount: 1000}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := New(Options{Window: time.Hour,
				Tolerance: map[string]*big.Int{chains.AssetNative: big.NewInt(tol)}})
			if err != nil {
				t.Fatal(err)
			}
			v := &lists{inferred: map[string]rules.Taint{}}
			var got []string
			var last chains.Movement
			for i, s := range tt.steps {
				m := movement(i, s)
				switch {
				case s.again:
					m = last
				case s.removed:
					m = last
					m.Removed = true
					in.Forget(&m)
				}
				if nt, ok := in.Observe(&m, v); ok {
					got = append(got, nt.Address[len(keyPrefix):])
					v.inferred[nt.Address] = nt.Taint
				}
				last = m
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("inferred %v, want %v", got, tt.want)
			}
		})
	}
}

func movement(i int, s step) chains.Movement {
	asset := s.asset
	if asset == "" {
		asset = chains.AssetNative
	}
	tx := fmt.Sprintf("0xt%d", i)
	return chains.Movement{Chain: "eth", Tx: tx, Position: chains.PositionTx,
		Kind: chains.KindNative, Block: chains.BlockRef{Number: uint64(100 + i),
			Time: time.Unix(0, 0).Add(time.Duration(s.min) * time.Minute)},
		Inputs:  []chains.Leg{{Address: s.from, Asset: asset, Amount: big.NewInt(s.amount)}},
		Outputs: []chains.Leg{{Address: s.to, Asset: asset, Amount: big.NewInt(s.amount)}}}
}

// TestInference checks what an inference holds: the exchange, and the evidence (the
// arrival and the forward) that its label and an alert show.
func TestInference(t *testing.T) {
	in, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := &lists{inferred: map[string]rules.Taint{}}
	arrive := movement(0, step{from: "0xu", to: "0xd", amount: 3e18})
	fwd := movement(1, step{min: 3, from: "0xd", to: hot, amount: 3e18 - 21000*30e9})
	if _, ok := in.Observe(&arrive, v); ok {
		t.Fatal("an arrival inferred something")
	}
	nt, ok := in.Observe(&fwd, v)
	if !ok {
		t.Fatal("the forward (3 ETH less a 21,000-gas fee at 30 gwei) inferred nothing")
	}
	if nt.Address != Key("0xd") || nt.Counter != "" || nt.Taint.By != fwd.Key() ||
		nt.Taint.Root != hot || nt.Taint.Source.Entity != "Binance" {
		t.Fatalf("inference %+v", nt)
	}
	p := nt.Taint.Path
	if len(p) != 2 || p[0].Tx != "0xt0" || p[0].From != "0xu" || p[0].Amount.Int64() != 3e18 ||
		p[1].Tx != "0xt1" || p[1].To != hot {
		t.Fatalf("evidence %+v", p)
	}
	l := Label(nt.Taint)
	want := rules.Label{Category: rules.CategoryExchangeDeposit, Entity: "Binance",
		List: List, Evidence: "0xt1"}
	if l != want {
		t.Fatalf("label %+v, want %+v", l, want)
	}

	// A reorg removes the forward; mined again (not yet inferred: the store undid it), it
	// infers D again. Mined again a second time without the removal, it infers nothing.
	removed := fwd
	removed.Removed = true
	in.Forget(&removed)
	if _, ok := in.Observe(&fwd, v); !ok {
		t.Fatal("the forward mined again after a reorg inferred nothing")
	}
	other := movement(2, step{min: 4, from: "0xd", to: hot, amount: 3e18 - 21000*30e9})
	if _, ok := in.Observe(&other, v); ok {
		t.Fatal("a second forward of the same arrival inferred D again")
	}
}

// TestMaxReceipts checks that the arrivals remembered stay under the bound, oldest dropped
// first, and that an arrival renewed later is not dropped with its first entry.
func TestMaxReceipts(t *testing.T) {
	in, err := New(Options{MaxReceipts: 3})
	if err != nil {
		t.Fatal(err)
	}
	v := &lists{inferred: map[string]rules.Taint{}}
	for i, to := range []string{"0xa", "0xb", "0xa", "0xc", "0xd"} {
		m := movement(i, step{from: "0xu", to: to, amount: 1})
		in.Observe(&m, v)
	}
	if in.Len() != 3 {
		t.Fatalf("%d remembered, want 3", in.Len())
	}
	for i, from := range []string{"0xb", "0xa", "0xc", "0xd"} {
		m := movement(10+i, step{from: from, to: hot, amount: 1})
		_, ok := in.Observe(&m, v)
		if want := from != "0xb"; ok != want { // 0xb, the oldest, was dropped
			t.Errorf("%s inferred %v, want %v", from, ok, want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		give    Options
		wantErr string
	}{
		{name: "defaults", give: Options{}},
		{name: "negative window", give: Options{Window: -time.Second}, wantErr: "window"},
		{name: "negative tolerance", wantErr: "tolerance 0xusdt",
			give: Options{Tolerance: map[string]*big.Int{usdt: big.NewInt(-1)}}},
		{name: "nil tolerance", wantErr: "tolerance 0xusdt",
			give: Options{Tolerance: map[string]*big.Int{usdt: nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.give)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" &&
				(err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestLargeAmounts: amounts past 64 bits (tokens of 18 decimals, sums of them) are held
// and compared exactly, tolerance included.
func TestLargeAmounts(t *testing.T) {
	e30, _ := new(big.Int).SetString("1000000000000000000000000000000", 10)
	big2 := func(x *big.Int, d int64) *big.Int { return new(big.Int).Add(x, big.NewInt(d)) }
	huge := new(big.Int).Lsh(big.NewInt(1), 200)
	tests := []struct {
		name      string
		asset     string
		arrivals  []*big.Int
		forwarded *big.Int
		want      bool
	}{
		{"token forwarded exactly", usdt, []*big.Int{big2(e30, 5)}, big2(e30, 5), true},
		{"token short by one unit", usdt, []*big.Int{big2(e30, 5)}, big2(e30, 4), false},
		{"two token arrivals swept", usdt, []*big.Int{e30, e30}, new(big.Int).Lsh(e30, 1),
			true},
		{"coin within the tolerance", chains.AssetNative, []*big.Int{huge},
			big2(huge, -DefaultNativeTolerance), true},
		{"coin past the tolerance", chains.AssetNative, []*big.Int{huge},
			big2(huge, -DefaultNativeTolerance-1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := New(Options{})
			if err != nil {
				t.Fatal(err)
			}
			v := &lists{inferred: map[string]rules.Taint{}}
			for i, a := range tt.arrivals {
				m := movement(i, step{from: fmt.Sprintf("0xu%d", i), to: "0xd", asset: tt.asset})
				m.Inputs[0].Amount, m.Outputs[0].Amount = a, a
				in.Observe(&m, v)
			}
			fwd := movement(9, step{min: 1, from: "0xd", to: hot, asset: tt.asset})
			fwd.Inputs[0].Amount, fwd.Outputs[0].Amount = tt.forwarded, tt.forwarded
			nt, ok := in.Observe(&fwd, v)
			if ok != tt.want {
				t.Fatalf("inferred %v, want %v", ok, tt.want)
			}
			if ok && nt.Taint.Path[0].Amount.Cmp(tt.arrivals[len(tt.arrivals)-1]) != 0 {
				t.Fatalf("evidence amount %v, want %v", nt.Taint.Path[0].Amount,
					tt.arrivals[len(tt.arrivals)-1])
			}
		})
	}
}

// TestReach: the window in effect is the block time from the oldest arrival remembered to
// the last transfer, shortened when the bound forgets.
func TestReach(t *testing.T) {
	in, err := New(Options{Window: time.Hour, MaxReceipts: 3})
	if err != nil {
		t.Fatal(err)
	}
	if in.Reach() != 0 {
		t.Fatalf("reach %s before any transfer", in.Reach())
	}
	ms := arrivals(5, 100) // block times 100 to 104 s, each to a fresh address
	for i := range ms[:3] {
		in.Observe(&ms[i], quietView{})
	}
	if in.Reach() != 2*time.Second {
		t.Fatalf("reach %s, want 2s", in.Reach())
	}
	for i := range ms[3:] {
		in.Observe(&ms[3+i], quietView{})
	}
	if in.Len() != 3 || in.Reach() != 2*time.Second {
		t.Fatalf("%d remembered, reach %s; want 3, 2s (the bound forgets the oldest)",
			in.Len(), in.Reach())
	}
}
