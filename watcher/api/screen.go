package api

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

// Describer tells every list entry of an address (watchlist.Lists and Live have it).
type Describer interface {
	Describe(chain, addr string) ([]watchlist.Dated[rules.Source],
		[]watchlist.Dated[rules.Label])
	// Listed says whether the lists name addr at all (a quicker no than Describe's).
	Listed(chain, addr string) bool
}

// TaintReader reads the taint store (taint.Store has it).
type TaintReader interface {
	Taints(ctx context.Context, chain string, keys ...string) (map[string]rules.Taint, error)
}

// KeyIndex says whether an address may hold something in the taint store, in memory
// (taint.Index has it): known is false when it cannot tell.
type KeyIndex interface {
	Holds(chain, base string) (holds, known bool)
}

// Chain is a chain screening knows: how to normalize its addresses.
type Chain struct {
	Family  chains.Family
	Network string
}

// Report is what screening found of one address.
type Report struct {
	Chain   string `json:"chain"`
	Address string `json:"address"` // normalized
	Risk    string `json:"risk"`
	// Reasons say, most severe first, what made the risk.
	Reasons []string `json:"reasons"`
	// Listed are the address's designations as a watched source, in force or not.
	Listed []Listing `json:"listed"`
	// Labels say what the address is: from the lists, inferred (an exchange's deposit
	// address), or registered by an exchange.
	Labels []LabelInfo `json:"labels"`
	// Exposure is the watched funds the address received, per source and taint model.
	Exposure []Exposure `json:"exposure"`
	// Counterparty is the address's latest payment to a watched source (outgoing exposure).
	Counterparty []Exposure `json:"counterparty"`
	// Registered is the address's registration as an exchange's deposit address.
	Registered *deposit.Registration `json:"registered,omitempty"`
}

// Listing is a designation of the address.
type Listing struct {
	Entity     string     `json:"entity"`
	Category   string     `json:"category"`
	List       string     `json:"list"`
	Designated *time.Time `json:"designated,omitempty"`
	Delisted   *time.Time `json:"delisted,omitempty"`
	InForce    bool       `json:"in_force"`
}

// LabelInfo is a label of the address.
type LabelInfo struct {
	Category string `json:"category"`
	Entity   string `json:"entity"`
	List     string `json:"list"`
	Evidence string `json:"evidence,omitempty"`
}

// Exposure is watched funds from one source, as one taint model counts them.
type Exposure struct {
	Model    string `json:"model"` // poison, haircut, fifo; outgoing for a counterparty
	Source   string `json:"source"`
	Entity   string `json:"entity"`
	Category string `json:"category"`
	List     string `json:"list"`
	Hops     int    `json:"hops"`
	Asset    string `json:"asset"`
	// TaintedAmount is the watched funds in base units: what arrived (poison) or what the
	// address holds of them (haircut, FIFO); Held is what it holds in all, when known.
	TaintedAmount string `json:"tainted_amount"`
	Held          string `json:"held,omitempty"`
	// Evidence are the transactions of the path from the source, in order.
	Evidence []string  `json:"evidence"`
	Time     time.Time `json:"time"` // the last hop's block time
	Risk     string    `json:"risk"`
}

// FieldError is a request's fault, naming the field.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Screener answers what is known of addresses from the lists, the taint store and the
// deposit registry, without touching the chain. Safe for concurrent use.
type Screener struct {
	chains   map[string]Chain
	lists    Describer
	taint    TaintReader
	registry *deposit.Registry // nil: none
	index    KeyIndex          // nil: ask the store about every address
	risk     RiskOptions
	now      func() time.Time
}

// NewScreener returns a screener of chains.
func NewScreener(cs map[string]Chain, lists Describer, taint TaintReader,
	registry *deposit.Registry, risk RiskOptions, now func() time.Time) (*Screener, error) {
	risk.SetDefaults()
	if err := risk.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Screener{chains: cs, lists: lists, taint: taint, registry: registry, risk: risk,
		now: now}, nil
}

// SetIndex makes screening ask the taint store only about the addresses x holds (or
// cannot tell about); the others hold nothing there. Call it before the first Screen.
func (s *Screener) SetIndex(x KeyIndex) { s.index = x }

// Normalize checks chain and address and returns the address normalized.
func (s *Screener) Normalize(chain, addr string) (string, error) {
	c, ok := s.chains[chain]
	if !ok {
		names := make([]string, 0, len(s.chains))
		for n := range s.chains {
			names = append(names, n)
		}
		sort.Strings(names)
		return "", &FieldError{"chain", fmt.Sprintf("unknown chain %q (configured: %s)",
			chain, strings.Join(names, ", "))}
	}
	norm, err := chains.NormalizeAddress(c.Family, c.Network, addr)
	if err != nil {
		return "", &FieldError{"address", err.Error()}
	}
	return norm, nil
}

// keyPrefixes are what the store keeps of an address that screening reads: on account
// chains its taint under each model; on Bitcoin, where taint is kept per output, the
// latest tainted output paid to it (rules.ReceivedKey).
var keyPrefixes = map[chains.Family][]string{
	chains.FamilyEVM: {rules.ModelKey(rules.ModelPoison, ""),
		rules.ModelKey(rules.ModelHaircut, ""), rules.ModelKey(rules.ModelFIFO, ""),
		rules.PatternKey(rules.PatternCounterparty, ""), deposit.Key("")},
	chains.FamilyBitcoin: {rules.ReceivedKey(rules.ModelPoison, ""),
		rules.ReceivedKey(rules.ModelHaircut, ""), rules.ReceivedKey(rules.ModelFIFO, ""),
		rules.PatternKey(rules.PatternCounterparty, ""), deposit.Key("")},
}

// exposureKey is the key of addr's exposure under model on a chain of family.
func exposureKey(family chains.Family, model, addr string) string {
	if family == chains.FamilyBitcoin {
		return rules.ReceivedKey(model, addr)
	}
	return rules.ModelKey(model, addr)
}

// Screen returns the reports of addrs on chain, in order; a malformed one is a FieldError
// naming its index.
func (s *Screener) Screen(ctx context.Context, chain string, addrs ...string) ([]Report,
	error) {
	out := make([]Report, len(addrs))
	if err := s.screen(ctx, chain, addrs, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ScreenOne returns the report of addr on chain (Screen of one address, without the
// slice).
func (s *Screener) ScreenOne(ctx context.Context, chain, addr string) (Report, error) {
	var out [1]Report
	err := s.screen(ctx, chain, []string{addr}, out[:])
	return out[0], err
}

// screen writes the reports of addrs into out (as long).
func (s *Screener) screen(ctx context.Context, chain string, addrs []string,
	out []Report) error {
	var one [1]string
	norm := one[:]
	if len(addrs) > 1 {
		norm = make([]string, len(addrs))
	}
	for i, a := range addrs {
		n, err := s.Normalize(chain, a)
		if err != nil {
			if fe, ok := err.(*FieldError); ok && len(addrs) > 1 && fe.Field == "address" {
				fe.Field = fmt.Sprintf("addresses[%d]", i)
			}
			return err
		}
		norm[i] = n
	}
	var keys []string
	prefixes := keyPrefixes[s.chains[chain].Family]
	var unheld [1]bool // the index says the store holds nothing of the address
	none := unheld[:]
	if len(norm) > 1 {
		none = make([]bool, len(norm))
	}
	for i, a := range norm {
		if s.index != nil {
			if holds, known := s.index.Holds(chain, a); known && !holds {
				none[i] = true
				continue
			}
		}
		for _, p := range prefixes {
			keys = append(keys, p+a)
		}
	}
	var stored map[string]rules.Taint
	if len(keys) > 0 {
		var err error
		if stored, err = s.taint.Taints(ctx, chain, keys...); err != nil {
			return fmt.Errorf("read taint: %w", err)
		}
	}
	for i, a := range norm {
		if none[i] && !s.lists.Listed(chain, a) && !s.registered(chain, a) {
			// Nothing is known of it anywhere (most addresses): no need to look further.
			out[i] = Report{Chain: chain, Address: a, Risk: RiskNone, Reasons: []string{},
				Listed: []Listing{}, Labels: []LabelInfo{}, Exposure: []Exposure{},
				Counterparty: []Exposure{}}
			continue
		}
		out[i] = s.report(chain, a, stored)
	}
	return nil
}

// registered says whether addr is a registered deposit address on chain.
func (s *Screener) registered(chain, addr string) bool {
	if s.registry == nil {
		return false
	}
	_, ok := s.registry.Get(chain, addr)
	return ok
}

// report is the report of one normalized address from what the store holds.
func (s *Screener) report(chain, addr string, stored map[string]rules.Taint) Report {
	r := Report{Chain: chain, Address: addr, Risk: RiskNone, Listed: []Listing{},
		Labels: []LabelInfo{}, Exposure: []Exposure{}, Counterparty: []Exposure{}}
	var reasons []reason
	srcs, lbls := s.lists.Describe(chain, addr)
	var now time.Time
	if len(srcs) > 0 {
		now = s.now()
	}
	for _, d := range srcs {
		l := Listing{Entity: d.V.Entity, Category: d.V.Category, List: d.V.List,
			InForce: (d.From.IsZero() || !now.Before(d.From)) && (d.To.IsZero() ||
				now.Before(d.To))}
		if !d.From.IsZero() {
			l.Designated = &d.From
		}
		if !d.To.IsZero() {
			l.Delisted = &d.To
		}
		r.Listed = append(r.Listed, l)
		level, what := s.risk.source(d.V.Category), "listed"
		if !l.InForce {
			level, what = RiskLow, "formerly listed"
		}
		reasons = append(reasons, reason{level, fmt.Sprintf("%s as %s (%s, %s)", what,
			d.V.Category, d.V.Entity, d.V.List)})
	}
	for _, d := range lbls {
		r.Labels = append(r.Labels, LabelInfo{Category: d.V.Category, Entity: d.V.Entity,
			List: d.V.List, Evidence: d.V.Evidence})
		reasons = append(reasons, reason{s.risk.label(d.V.Category),
			fmt.Sprintf("labelled %s (%s)", d.V.Category, d.V.Entity)})
	}
	if s.registry != nil {
		if g, ok := s.registry.Get(chain, addr); ok {
			r.Registered = new(deposit.Registration) // allocated only when registered
			*r.Registered = g
		}
	}
	if len(stored) > 0 { // (the index said the store holds nothing of most addresses)
		reasons = s.fromStore(&r, chain, addr, stored, reasons)
	}
	r.Risk, r.Reasons = summarize(reasons)
	return r
}

// fromStore adds to r what the store holds of addr: an inferred deposit label, exposure
// under each model, payments to sources; it returns reasons with those it found.
func (s *Screener) fromStore(r *Report, chain, addr string, stored map[string]rules.Taint,
	reasons []reason) []reason {
	if t, ok := stored[deposit.Key(addr)]; ok {
		l := deposit.Label(t)
		r.Labels = append(r.Labels, LabelInfo{Category: l.Category, Entity: l.Entity,
			List: l.List, Evidence: l.Evidence})
	}
	for _, model := range []string{rules.ModelPoison, rules.ModelHaircut, rules.ModelFIFO} {
		if t, ok := stored[exposureKey(s.chains[chain].Family, model, addr)]; ok {
			for _, e := range s.exposures(model, t) {
				r.Exposure = append(r.Exposure, e)
				reasons = append(reasons, reason{e.Risk, fmt.Sprintf(
					"received %s of %s (%s) %d hop(s) away (%s)", e.TaintedAmount, e.Entity,
					e.Category, e.Hops, model)})
			}
		}
	}
	if t, ok := stored[rules.PatternKey(rules.PatternCounterparty, addr)]; ok {
		e := exposure("outgoing", t)
		e.Risk = s.risk.source(e.Category)
		r.Counterparty = append(r.Counterparty, e)
		reasons = append(reasons, reason{e.Risk, fmt.Sprintf("paid %s (%s) directly",
			e.Entity, e.Category)})
	}
	return reasons
}

type reason struct{ level, text string }

// summarize returns the highest level of reasons and their texts, most severe first, with
// their levels (reasons of level none are left out).
func summarize(reasons []reason) (string, []string) {
	sort.SliceStable(reasons, func(i, j int) bool {
		return rank(reasons[i].level) > rank(reasons[j].level)
	})
	risk, texts := RiskNone, []string{}
	for _, rs := range reasons {
		if rs.level == RiskNone {
			continue
		}
		if rank(rs.level) > rank(risk) {
			risk = rs.level
		}
		texts = append(texts, rs.level+": "+rs.text)
	}
	return risk, texts
}

// exposures are what a taint under model says of the funds an address received: one per
// asset it holds (haircut, FIFO), or the path's last hop (poison).
func (s *Screener) exposures(model string, t rules.Taint) []Exposure {
	base := exposure(model, t)
	if model == rules.ModelPoison || len(t.Holdings) == 0 {
		base.Risk = s.risk.exposure(base.Category, base.Hops, -1)
		return []Exposure{base}
	}
	var out []Exposure
	for _, h := range t.Holdings {
		tainted, held := new(big.Int), new(big.Int)
		if model == rules.ModelHaircut {
			tainted, held = orZero(h.Tainted), orZero(h.Balance)
		} else {
			for _, l := range h.Lots {
				held.Add(held, l.Amount)
				if l.Tainted {
					tainted.Add(tainted, l.Amount)
				}
			}
		}
		if tainted.Sign() == 0 {
			continue
		}
		e := base
		e.Asset, e.TaintedAmount, e.Held = h.Asset, tainted.String(), held.String()
		share := 10000 // holding nothing now: all it held was watched funds
		if held.Sign() > 0 {
			share = basisPoints(tainted, held)
		}
		e.Risk = s.risk.exposure(e.Category, e.Hops, share)
		out = append(out, e)
	}
	return out
}

// basisPoints is part / whole in basis points, at most 10000; whole must be positive.
func basisPoints(part, whole *big.Int) int {
	v := new(big.Int).Quo(new(big.Int).Mul(part, big.NewInt(10000)), whole)
	if !v.IsInt64() || v.Int64() > 10000 {
		return 10000
	}
	return int(v.Int64())
}

func orZero(v *big.Int) *big.Int {
	if v == nil {
		return new(big.Int)
	}
	return v
}

// exposure is the part of an exposure a taint's path and source give.
func exposure(model string, t rules.Taint) Exposure {
	e := Exposure{Model: model, Source: t.Root, Entity: t.Source.Entity,
		Category: t.Source.Category, List: t.Source.List, Hops: len(t.Path),
		Evidence: make([]string, 0, len(t.Path))}
	for _, h := range t.Path {
		e.Evidence = append(e.Evidence, h.Tx)
	}
	if n := len(t.Path); n > 0 {
		last := t.Path[n-1]
		e.Asset, e.Time = last.Asset, last.Time.UTC()
		amount := last.Amount
		if last.Tainted != nil {
			amount = last.Tainted
		}
		if amount != nil {
			e.TaintedAmount = amount.String()
		}
	}
	return e
}
