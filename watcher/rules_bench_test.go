package watcher

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/configs"
	"github.com/flowwatch/flowwatch/watcher/config"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

const (
	benchTracked   = 1_000_000
	benchMovements = 200_000
	benchBatch     = 256 // movements judged per op, with one cache lookup
	// benchFresh is how many sets of fresh receivers a stream of movements takes turns
	// with, one per pass: a receiver comes back only after 3*benchMovements others, more
	// than deposit inference remembers (deposit.DefaultMaxReceipts), so every pass finds
	// the inferrer in steady state, each arrival forgetting the oldest.
	benchFresh = 4
	// benchRecent is how far back a sender that received recently received.
	benchRecent = 10_000
)

// benchMix is the make-up of the movements judged: the share of senders that are tracked
// or sources or received within the last benchRecent movements (passing on what they
// got), and of receivers that are tracked or exchanges, in percent; the rest are fresh
// addresses on no list and never tainted.
type benchMix struct {
	name                                string
	fromTracked, fromSource, fromRecent float64
	toTracked, toExchange               float64
}

var benchMixes = []benchMix{
	// mainnet: 1M tracked addresses among Ethereum's hundreds of millions; a small share
	// of the day's transfers touches them or a labelled exchange.
	{name: "mainnet", fromTracked: 2, fromSource: 0.1, fromRecent: 25, toTracked: 2,
		toExchange: 3},
	// stress: a third of all senders hold watched funds.
	{name: "stress", fromTracked: 30, fromSource: 1, fromRecent: 25, toTracked: 10,
		toExchange: 5},
	// Two mixes that take the mainnet mix apart (bench/rules.sh runs them when asked):
	// held, every sender holds watched funds, which prices the rules' work on one such
	// movement; untracked, none is tracked or a source, which prices what is done for
	// every movement (inference and the fan-in tracker note it, whether or not it holds
	// anything).
	{name: "held", fromTracked: 100},
	{name: "untracked", fromRecent: 25, toExchange: 3},
}

// benchStream is a stream of movements judged over and over, in passes. Its fresh
// receivers are new at every pass (up to benchFresh passes), and so are the senders that
// pass on what such a receiver got: as on a chain, nearly every arrival is at an address
// not seen for long.
type benchStream struct {
	ms    []chains.Movement
	fresh [][]string // per movement with a fresh receiver, its receiver at each pass
	at    []int      // the movements with fresh receivers
	from  []int      // per movement: the movement whose receiver it sends from, or -1
}

// pass readies the stream for pass p: it gives the fresh receivers theirs.
func (s *benchStream) pass(p int) {
	for j, i := range s.at {
		s.ms[i].Outputs[0].Address = s.fresh[p%benchFresh][j]
	}
	for i, k := range s.from {
		if k >= 0 {
			s.ms[i].Inputs[0].Address = s.ms[k].Outputs[0].Address
		}
	}
}

// rulesBench is the state of BenchmarkRules: the bundled lists, benchTracked tracked
// addresses under each model, and streams of movements among them, per mix.
type rulesBench struct {
	lists              *watchlist.Lists
	tracked            map[string]struct{} // the bare loop's map: the same addresses
	addrs              []string            // the tracked addresses, whose states are states'
	sources, exchanges []string
	streams            map[string]*benchStream
}

var (
	rulesBenchOnce sync.Once
	rulesBenchData *rulesBench
)

func loadRulesBench(b *testing.B) *rulesBench {
	rulesBenchOnce.Do(func() {
		// The setup's millions of small objects would cost it minutes of marking.
		defer debug.SetGCPercent(debug.SetGCPercent(800))
		rb := &rulesBench{lists: watchlist.New(), tracked: map[string]struct{}{},
			streams: map[string]*benchStream{}}
		entries, err := bundledEVMEntries()
		if err != nil {
			b.Fatal(err)
		}
		rb.lists.Add(entries...)
		for _, e := range entries {
			if e.Chain != "ethereum" {
				continue
			}
			if e.Role == watchlist.RoleSource {
				rb.sources = append(rb.sources, e.Address)
			} else if e.Category == "exchange" {
				rb.exchanges = append(rb.exchanges, e.Address)
			}
		}
		rng := mrand.New(mrand.NewPCG(1, 2))
		rb.addrs = make([]string, benchTracked)
		for i := range rb.addrs {
			a := randomAddr(rng)
			rb.addrs[i] = a
			rb.tracked[a] = struct{}{}
		}
		for _, mix := range benchMixes {
			rb.streams[mix.name] = rb.stream(rng, mix)
		}
		rulesBenchData = rb
	})
	return rulesBenchData
}

func randomAddr(rng *mrand.Rand) string {
	var a [20]byte
	for i := range a {
		a[i] = byte(rng.IntN(256))
	}
	return "0x" + hex.EncodeToString(a[:])
}

func (rb *rulesBench) stream(rng *mrand.Rand, mix benchMix) *benchStream {
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	s := &benchStream{ms: make([]chains.Movement, benchMovements),
		fresh: make([][]string, benchFresh), from: make([]int, benchMovements)}
	for i := range s.ms {
		from, to := randomAddr(rng), ""
		s.from[i] = -1
		switch p := rng.Float64() * 100; {
		case p < mix.fromSource:
			from = rb.sources[rng.IntN(len(rb.sources))]
		case p < mix.fromSource+mix.fromTracked:
			from = rb.addrs[rng.IntN(len(rb.addrs))]
		case p < mix.fromSource+mix.fromTracked+mix.fromRecent && i > 0:
			s.from[i] = max(0, i-1-rng.IntN(benchRecent))
		}
		switch p := rng.Float64() * 100; {
		case p < mix.toExchange:
			to = rb.exchanges[rng.IntN(len(rb.exchanges))]
		case p < mix.toExchange+mix.toTracked:
			to = rb.addrs[rng.IntN(len(rb.addrs))]
		default:
			s.at = append(s.at, i)
		}
		amount := big.NewInt(rng.Int64N(1e18) + 1)
		s.ms[i] = chains.Movement{Chain: "ethereum", Tx: fmt.Sprintf("0x%x", i),
			Position: chains.PositionTx, Kind: chains.KindNative,
			Block:   chains.BlockRef{Number: uint64(2 + i/200), Time: at},
			Inputs:  []chains.Leg{{Address: from, Asset: "native", Amount: amount}},
			Outputs: []chains.Leg{{Address: to, Asset: "native", Amount: amount}}}
	}
	for p := range s.fresh {
		s.fresh[p] = make([]string, len(s.at))
		for j := range s.fresh[p] {
			s.fresh[p][j] = randomAddr(rng)
		}
	}
	s.pass(0)
	return s
}

// states are the tracked address a's states under the three models, as the worker stores
// them: funds of a source that reached a, one hop away, a third of what a holds.
func (rb *rulesBench) states(a string) []rules.NewTaint {
	src := rules.Source{Entity: "Lazarus Group", Category: "sanctioned", List: "OFAC SDN"}
	var out []rules.NewTaint
	for _, model := range []string{rules.ModelPoison, rules.ModelHaircut, rules.ModelFIFO} {
		t := rules.Taint{Root: rb.sources[0], Source: src, By: "0x01:tx",
			Path: []rules.Hop{{Chain: "ethereum", Block: 1,
				Time: time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC), Tx: "0x01",
				Position: chains.PositionTx, From: rb.sources[0], To: a, Asset: "native",
				Amount: big.NewInt(1e18)}}}
		switch model {
		case rules.ModelHaircut:
			t.Path[0].Tainted = big.NewInt(1e18)
			t.Holdings = []rules.Holding{{Asset: "native", Balance: big.NewInt(3e18),
				Tainted: big.NewInt(1e18)}}
		case rules.ModelFIFO:
			t.Path[0].Tainted = big.NewInt(1e18)
			t.Holdings = []rules.Holding{{Asset: "native", Lots: []rules.Lot{
				{Amount: big.NewInt(1e18), Tainted: true}, {Amount: big.NewInt(2e18)}}}}
		}
		out = append(out, rules.NewTaint{Address: rules.ModelKey(model, a), Taint: t,
			Counter: rules.Counter(model, rb.sources[0])})
	}
	return out
}

// workerFor is a worker judging ms under rs with its taint cache warm: it knows which bases
// hold anything and the state of each, and the listed addresses, so the store is never
// asked. The cache is warmed as a worker's reads warm it: the states are written to an
// in-memory store, encoded as in Redis, and the cache's lookup reads them back, so that it
// holds them as decoded from the store. With infer, the chain infers deposit addresses
// (the default on EVM chains).
func (rb *rulesBench) workerFor(b *testing.B, rs []rules.Rule, ms []chains.Movement,
	infer bool) *Worker {
	opts := WorkerOptions{Name: "bench", Chains: []string{"ethereum"}}
	if infer {
		opts.Deposits = map[string]deposit.Options{"ethereum": {}}
	}
	w, err := NewWorker(nil, nil, rb.lists, nil, rs, nil, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer debug.SetGCPercent(debug.SetGCPercent(800)) // as in loadRulesBench
	ctx := context.Background()
	store := taint.NewMemory()
	const chunk = 1 << 16
	for i := 0; i < len(rb.addrs); i += chunk {
		var nts []rules.NewTaint
		for _, a := range rb.addrs[i:min(i+chunk, len(rb.addrs))] {
			nts = append(nts, rb.states(a)...)
		}
		if err := store.Apply(ctx, "ethereum", fmt.Sprint("setup-", i), nts, nil); err != nil {
			b.Fatal(err)
		}
	}
	w.cache.max = len(rb.addrs) + len(ms)
	var flags []uint8
	for i := 0; i < len(rb.addrs); i += chunk {
		_, flags, err = w.cache.lookup(ctx, store, "ethereum",
			rb.addrs[i:min(i+chunk, len(rb.addrs))], nil, flags[:0])
		if err != nil {
			b.Fatal(err)
		}
	}
	cc := w.cache.chains["ethereum"]
	if cc.loaded != len(rb.addrs) {
		b.Fatalf("warm cache: %d bases read, want %d", cc.loaded, len(rb.addrs))
	}
	cc.recheck = false // nothing was applied before: the stream is new
	return w
}

// exampleRules are the rules of configs/rules.example.yaml, as the workers judge by them.
// They are read without the config's defaults, which the file, setting every field, does
// not need (TestRulesExample loads it with them); a field it leaves out fails Validate.
func exampleRules(b *testing.B) []rules.Rule {
	raw, err := os.ReadFile(filepath.Join("..", "configs", "rules.example.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	var f struct {
		Rules []config.Rule `yaml:"rules"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		b.Fatal(err)
	}
	var rs []rules.Rule
	for i := range f.Rules {
		r, err := f.Rules[i].Rule()
		if err == nil {
			err = r.Validate()
		}
		if err != nil {
			b.Fatal(err)
		}
		rs = append(rs, r)
	}
	return rs
}

// bundledEVMEntries reads every bundled list for chain "ethereum" (EVM).
func bundledEVMEntries() ([]watchlist.Entry, error) {
	names, err := configs.Lists.ReadDir("lists")
	if err != nil {
		return nil, err
	}
	var all []watchlist.Entry
	for _, n := range names {
		name := "lists/" + n.Name()
		f, err := configs.Lists.Open(name)
		if err != nil {
			return nil, err
		}
		entries, _, err := watchlist.ReadFile(name, f,
			func(c string) (chains.Family, string, bool) {
				return chains.FamilyEVM, "", c == "ethereum"
			})
		f.Close()
		if err != nil {
			return nil, err
		}
		all = append(all, entries...)
	}
	return all, nil
}

// bare is the baseline's work on ms: each movement's sender and receiver looked up in the
// map of the tracked addresses. It returns how many were found.
func (rb *rulesBench) bare(ms []chains.Movement) int {
	hits := 0
	for i := range ms {
		if _, ok := rb.tracked[ms[i].Inputs[0].Address]; ok {
			hits++
		}
		if _, ok := rb.tracked[ms[i].Outputs[0].Address]; ok {
			hits++
		}
	}
	return hits
}

// window is the least that a window of recent arrivals beside the rules costs: a Go map
// (the bare loop's structure) of the last deposit.DefaultMaxReceipts receivers, the oldest
// forgotten first, nothing kept of them but that they arrived.
type window struct {
	at   map[string]struct{}
	ring []string // the receivers remembered, in the order they came; "": none yet
	next int      // the oldest
}

func newWindow() *window {
	const n = deposit.DefaultMaxReceipts
	return &window{at: make(map[string]struct{}, n), ring: make([]string, n)}
}

// bare is the bare loop's work on ms plus the least deposit inference does besides: each
// movement's sender looked up in w, and its receiver remembered, which forgets the oldest.
// It returns how many were found.
func (w *window) bare(rb *rulesBench, ms []chains.Movement) int {
	hits := rb.bare(ms)
	for i := range ms {
		if _, ok := w.at[ms[i].Inputs[0].Address]; ok {
			hits++
		}
		to := ms[i].Outputs[0].Address
		if _, ok := w.at[to]; ok {
			continue
		}
		if old := w.ring[w.next]; old != "" {
			delete(w.at, old)
		}
		w.ring[w.next], w.at[to] = to, struct{}{}
		w.next = (w.next + 1) % len(w.ring)
	}
	return hits
}

// bareHits keeps what bareTimer's loops found, so that they are not optimized away.
var bareHits int

// bareTimer times the bare loop beside a case, so that both see the machine at one pace:
// its movements and the time they took, in total.
type bareTimer struct {
	n    int
	took time.Duration
}

// pass times the bare loop over a pass of s, readied.
func (t *bareTimer) pass(rb *rulesBench, s *benchStream) {
	start := time.Now()
	bareHits += rb.bare(s.ms)
	t.took += time.Since(start)
	t.n += len(s.ms)
}

// timePasses times loop over a pass of s per op, from pass first on, each readied untimed,
// and reports its rate; it returns what loop found.
func timePasses(b *testing.B, s *benchStream, first int, loop func([]chains.Movement) int) int {
	hits := 0
	for p := first; b.Loop(); p++ {
		b.StopTimer()
		s.pass(p)
		b.StartTimer()
		hits += loop(s.ms)
	}
	b.ReportMetric(float64(b.N*len(s.ms))/b.Elapsed().Seconds(), "movements/s")
	return hits
}

// rate is the bare loop's rate, in movements/s.
func (t *bareTimer) rate() float64 { return float64(t.n) / t.took.Seconds() }

// BenchmarkRules measures, on one core, what the worker does to judge movements once their
// state is in its cache, a batch of benchBatch at a time (Worker.judge): the bases they
// read, their lookup in the cache (warm: every tracked base's state read), the lists, and
// rules.Evaluate for the movements that touch anything, over the bundled lists and 1M
// tracked addresses, under poison (with a direct-exposure rule), under the three models at
// once, under poison with deposit-address inference (the default on EVM chains, in
// steady state: see benchStream), and under the rules of configs/rules.example.yaml (the
// three models, direct exposure and the pattern rules, fan-in among them, which notes
// every transfer) with inference, for each mix of movements. "bare" is the baseline: a
// loop that only looks each movement's sender and receiver up in a map of the same 1M
// addresses; "bare+window" adds to it the least that deposit inference does besides the
// rules (see window), a yardstick for the case with inference; "bare+shared" is the least
// that one table of addresses shared by the taint cache and both learners would do (see
// sharedTable), a yardstick for a redesign of the worker's state. Each case also reports
// x-bare, its rate over the bare loop's measured beside it: before it, after it and
// between its passes over the stream; bench/rules.sh prints the ratios.
func BenchmarkRules(b *testing.B) {
	rb := loadRulesBench(b)
	rule := func(name, model string) rules.Rule {
		return rules.Rule{Name: name, Destinations: []string{"exchange", "mixer"},
			MaxHops: 4, Model: model}
	}
	poison := []rules.Rule{rule("p", rules.ModelPoison),
		{Name: "d", Direct: true, SourceCategories: []string{"sanctioned"}}}
	cases := []struct {
		name  string
		rs    []rules.Rule
		infer bool
	}{
		{"poison", poison, false},
		{"three-models", []rules.Rule{rule("p", rules.ModelPoison),
			rule("h", rules.ModelHaircut), rule("f", rules.ModelFIFO)}, false},
		{"poison+infer", poison, true},
		// The rules a new deployment starts from, with inference on (as on EVM chains).
		{"example+infer", exampleRules(b), true},
		// Two cases that take example+infer apart, run when bench/rules.sh is asked
		// (CASES): the same rules without inference, and without the fan-in rule too, so
		// that nothing notes every transfer.
		{"example", exampleRules(b), false},
		{"example-nofanin", noFanIn(exampleRules(b)), false},
	}
	for _, mix := range benchMixes {
		s := rb.streams[mix.name]
		ms := s.ms
		runtime.GC() // the setup's garbage is not the benchmarks' to collect
		b.Run("mix="+mix.name+"/bare", func(b *testing.B) {
			hits := timePasses(b, s, 0, rb.bare)
			b.ReportMetric(float64(hits)/float64(b.N*len(ms)), "hits/movement")
		})
		win := newWindow()
		for p := range 2 { // full: two passes bring more fresh receivers than it holds
			s.pass(p)
			bareHits += win.bare(rb, ms)
		}
		b.Run("mix="+mix.name+"/bare+window", func(b *testing.B) {
			bareHits += timePasses(b, s, 2, func(ms []chains.Movement) int {
				return win.bare(rb, ms)
			})
		})
		shared := newSharedTable(rb)
		for p := range 2 { // full, as win
			s.pass(p)
			bareHits += shared.run(ms)
		}
		b.Run("mix="+mix.name+"/bare+shared", func(b *testing.B) {
			bareHits += timePasses(b, s, 2, shared.run)
		})
		shared = nil
		for _, tc := range cases {
			b.Run("mix="+mix.name+"/"+tc.name, func(b *testing.B) {
				w := rb.workerFor(b, tc.rs, ms, tc.infer)
				runtime.GC() // the last case's worker, and the store that warmed this one
				ctx := context.Background()
				effects, alerts, batches := 0, 0, len(ms)/benchBatch
				// The bare loop runs, untimed by b, before the case, after it, and between
				// its passes: the machine's pace drifts over the seconds a case takes.
				var bare bareTimer
				s.pass(1)
				bare.pass(rb, s)
				s.pass(0)
				bare.pass(rb, s)
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for i := 0; b.Loop(); i++ {
					if i > 0 && i%batches == 0 {
						b.StopTimer()
						s.pass(i / batches)
						bare.pass(rb, s)
						b.StartTimer()
					}
					k := i % batches * benchBatch
					es, as, err := w.judge(ctx, "ethereum", ms[k:k+benchBatch])
					if err != nil {
						b.Fatal(err)
					}
					effects += len(es)
					alerts += len(as)
				}
				runtime.ReadMemStats(&after)
				n := float64(b.N * benchBatch)
				rate := n / b.Elapsed().Seconds()
				bare.pass(rb, s)
				b.ReportMetric(rate, "movements/s")
				b.ReportMetric(rate/bare.rate(), "x-bare")
				b.ReportMetric(float64(alerts)/n, "alerts/movement")
				b.ReportMetric(float64(effects)/n, "effects/movement")
				// What the case allocates costs, at the default GOGC, about as much
				// marking of the live heap (about 2.5 GB under three models) as its own
				// size; the cycles that do it come only in a run long enough, and these
				// say whether a run had them.
				b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/movement")
				b.ReportMetric(float64(after.NumGC-before.NumGC), "gc-cycles")
			})
		}
	}
}

// noFanIn is rs without its fan-in rules.
func noFanIn(rs []rules.Rule) []rules.Rule {
	var out []rules.Rule
	for _, r := range rs {
		if r.Pattern != rules.PatternFanIn {
			out = append(out, r)
		}
	}
	return out
}
