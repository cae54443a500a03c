package replay

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// Defaults for Options.
const (
	// DefaultHops is how far from the given addresses funds are followed.
	DefaultHops = 4
	// DefaultMaxTracked caps the addresses (or Bitcoin outputs) followed per given address:
	// a replay that reaches a busy contract or a service no list names would otherwise
	// follow a large part of the chain.
	DefaultMaxTracked = 10_000
	// RuleName is the name of the rule a replay judges with.
	RuleName = "replay"
	// CategoryInvestigated is the category of a given address that no list designates.
	CategoryInvestigated = "investigated"
)

// DefaultDestinations are the label categories where following ends and totals are kept.
var DefaultDestinations = []string{rules.CategoryExchange, rules.CategoryMixer,
	rules.CategoryBridge}

// Lists is what a replay reads of the watchlists: designations and labels valid at a time.
type Lists interface {
	SourceAt(chain, addr string, at time.Time) (rules.Source, bool)
	LabelAt(chain, addr string, at time.Time) (rules.Label, bool)
}

// Options configure a Replayer.
type Options struct {
	Chain string
	// Sources are the addresses whose funds are followed, normalized for the chain.
	Sources []string
	// From and To are the block range, for the report.
	From, To uint64
	// Hops is how far funds are followed; 0: DefaultHops.
	Hops int
	// Model is the taint model: rules.ModelPoison (default), ModelHaircut or ModelFIFO.
	Model string
	// AsOf, when set, is the time at which labels and designations are read; otherwise
	// each movement's block time.
	AsOf time.Time
	// Destinations are the label categories where following ends and that the report
	// totals; nil: DefaultDestinations. A labelled service of another category ends
	// following too (the rules never follow through one) but is not totalled.
	Destinations []string
	// MinAmount is, per asset, the least tainted amount followed (base units).
	MinAmount map[string]*big.Int
	// Window is how long after funds left a given address they are followed; 0: no limit.
	Window time.Duration
	// MaxTracked caps the addresses followed per given address; 0: DefaultMaxTracked,
	// -1: no cap.
	MaxTracked int64
	// Deposits, when set, infers exchange deposit addresses from their sweeps.
	Deposits *deposit.Options
	// Explorer is the chain's explorer's transaction URL prefix, for the HTML report's
	// links; "" for none.
	Explorer string
	// Tokens are, by token address, the tokens whose amounts the renderings show in their
	// units; the others show in base units.
	Tokens map[string]Token
}

func (o *Options) setDefaults() {
	if o.Hops == 0 {
		o.Hops = DefaultHops
	}
	if o.Model == "" {
		o.Model = rules.ModelPoison
	}
	if o.Destinations == nil {
		o.Destinations = DefaultDestinations
	}
	switch o.MaxTracked {
	case 0:
		o.MaxTracked = DefaultMaxTracked
	case -1:
		o.MaxTracked = 0
	}
}

// Validate reports the first invalid option, naming it.
func (o *Options) Validate() error {
	switch {
	case o.Chain == "":
		return errors.New("chain: empty")
	case len(o.Sources) == 0:
		return errors.New("sources: want at least one address")
	case o.To < o.From:
		return fmt.Errorf("to %d: before from %d", o.To, o.From)
	}
	r := o.rule()
	return r.Validate()
}

// rule is the one rule a replay judges with.
func (o *Options) rule() rules.Rule {
	return rules.Rule{Name: RuleName, Severity: "info", Destinations: o.Destinations,
		MaxHops: o.Hops, Model: o.Model, MinAmount: o.MinAmount, Window: o.Window,
		MaxTracked: o.MaxTracked}
}

// Replayer judges a range's movements, in chain order, and builds the report.
type Replayer struct {
	opts      Options
	lists     Lists
	rules     []rules.Rule
	roots     map[string]bool
	taints    map[string]*rules.Taint // by store key, as the pipeline's store keeps them
	counts    map[string]int64
	following map[string]bool // account addresses that hold watched funds
	added     []string        // following, in the order they were added
	infer     *deposit.Inferrer
	view      view
	d         rules.Decision
	graph     *builder
	judged    uint64
	capped    int
}

// New returns a Replayer over lists.
func New(lists Lists, opts Options) (*Replayer, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	r := &Replayer{opts: opts, lists: lists, rules: []rules.Rule{opts.rule()},
		roots: map[string]bool{}, taints: map[string]*rules.Taint{},
		counts: map[string]int64{}, following: map[string]bool{}}
	for _, a := range opts.Sources {
		r.roots[a] = true
		r.follow(a)
	}
	if opts.Deposits != nil {
		in, err := deposit.New(*opts.Deposits)
		if err != nil {
			return nil, fmt.Errorf("deposits: %w", err)
		}
		r.infer = in
	}
	r.view.r = r
	r.graph = newBuilder()
	r.d.WantFlows = true
	return r, nil
}

// Visit judges one movement; movements come in chain order. A removed movement is
// ignored: a replay reads settled history.
func (r *Replayer) Visit(m *chains.Movement) {
	if m.Removed {
		return
	}
	r.judged++
	r.view.at = r.at(m.Block.Time)
	rules.EvaluateTo(&r.d, r.rules, m, &r.view)
	if r.infer != nil {
		if nt, ok := r.infer.Observe(m, &r.view); ok {
			r.d.Taints = append(r.d.Taints, nt)
		}
	}
	for i := range r.d.Taints {
		r.store(&r.d.Taints[i])
	}
	for i := range r.d.Flows {
		r.graph.add(m, &r.d.Flows[i])
	}
	r.capped += len(r.d.Capped)
}

// at is the time at which labels and designations are read for a movement at t.
func (r *Replayer) at(t time.Time) time.Time {
	if !r.opts.AsOf.IsZero() {
		return r.opts.AsOf
	}
	return t
}

// store keeps new taint as the pipeline's store does: it replaces the key's, and counts
// toward its counter when the key held none.
func (r *Replayer) store(nt *rules.NewTaint) {
	if _, had := r.taints[nt.Address]; !had && nt.Counter != "" {
		r.counts[nt.Counter]++
	}
	t := nt.Taint
	r.taints[nt.Address] = &t
	prefix, base := rules.SplitKey(nt.Address)
	switch prefix {
	case rules.ModelKey(r.opts.Model, ""): // an account, or a Bitcoin output (txid:n)
		if !strings.Contains(base, ":") {
			r.follow(base)
		}
	case rules.ModelKey(r.opts.Model, "r/"): // the address a tainted Bitcoin output pays
		r.follow(base)
	}
}

// follow adds an account address to those that hold watched funds.
func (r *Replayer) follow(a string) {
	if !r.following[a] {
		r.following[a] = true
		r.added = append(r.added, a)
	}
}

// FollowingSince returns the addresses whose payments may carry watched funds (the given
// addresses and those funds reached: on Bitcoin, the addresses of tainted outputs), in the
// order they were reached, from the n-th on.
func (r *Replayer) FollowingSince(n int) []string { return slices.Clone(r.added[n:]) }

// Stats are what a replay did.
type Stats struct {
	Judged uint64 // movements judged
	Capped int    // addresses not followed because of MaxTracked
}

// Stats returns what the replay did so far.
func (r *Replayer) Stats() Stats { return Stats{Judged: r.judged, Capped: r.capped} }

// view is what the rules see: the given addresses as the only sources, the lists' labels
// and inferred deposit addresses, and the replay's taint.
type view struct {
	r  *Replayer
	at time.Time
}

var _ rules.View = (*view)(nil)

func (v *view) Source(a string) (rules.Source, bool) {
	if !v.r.roots[a] {
		return rules.Source{}, false
	}
	if s, ok := v.r.lists.SourceAt(v.r.opts.Chain, a, v.at); ok {
		return s, true
	}
	return rules.Source{Entity: "investigated address", Category: CategoryInvestigated,
		List: RuleName}, true
}

func (v *view) Label(a string) (rules.Label, bool) {
	if l, ok := v.r.lists.LabelAt(v.r.opts.Chain, a, v.at); ok {
		return l, true
	}
	if t, ok := v.r.taints[deposit.Key(a)]; ok {
		return deposit.Label(*t), true
	}
	return rules.Label{}, false
}

func (v *view) Taint(prefix, base string) (rules.Taint, bool) {
	if t, ok := v.r.taints[prefix+base]; ok {
		return *t, true
	}
	return rules.Taint{}, false
}

func (v *view) Tracked(c string) int64 { return v.r.counts[c] }
