package rules

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/flowwatch/flowwatch/chains"
)

// Source is a watched address's designation.
type Source struct {
	Entity   string // e.g. "Lazarus Group"
	Category string // sanctioned, attributed, ransomware, hack, ...
	List     string // where the designation comes from
}

// Label says what an address is: a service that ends following.
type Label struct {
	Category string // exchange, exchange_deposit, mixer, bridge, dex, ...
	Entity   string
	List     string
	// Evidence is, for a label inferred from behaviour, the transaction that showed it
	// (the deposit address's forward to its exchange).
	Evidence string
}

// Label categories the rules treat specially.
const (
	CategoryMixer    = "mixer"
	CategoryBridge   = "bridge"
	CategoryExchange = "exchange"
	// CategoryExchangeDeposit is an exchange's deposit address (listed or inferred): it
	// belongs to the exchange, so a rule that names CategoryExchange reaches it too.
	CategoryExchangeDeposit = "exchange_deposit"
)

// ListEvent is the List of a label that a contract's log gave it (EventLabel).
const ListEvent = "event"

// Rule names of the alerts about flowwatch itself, which no configured rule may take
// (watcher.Heartbeat raises them).
const (
	RuleHeartbeat = "heartbeat"    // "pipeline alive", sent straight to the heartbeat sink
	RuleLag       = "pipeline-lag" // a chain fell behind; logged and routed like any alert
)

// Hop is one step of watched funds: a movement from one address to the next.
type Hop struct {
	Chain    string
	Block    uint64
	Time     time.Time // the block's
	Tx       string
	Position string
	From, To string
	Asset    string
	Amount   *big.Int
	// Tainted is the part of Amount that is watched funds under the model of the taint
	// the hop belongs to; nil means all of it (poison).
	Tainted *big.Int
}

// HopOf is the hop m makes from `from` to its output o (named by its output index on
// Bitcoin).
func HopOf(m *chains.Movement, from string, o chains.Leg) Hop {
	pos := m.Position
	if m.Kind == chains.KindUTXO {
		pos = chains.PositionVout(o.Index)
	}
	return Hop{Chain: m.Chain, Block: m.Block.Number, Time: m.Block.Time, Tx: m.Tx,
		Position: pos, From: from, To: o.Address, Asset: o.Asset,
		Amount: new(big.Int).Set(o.Amount)}
}

// Taint is what the rules keep on one store key under one model (see ModelKey): how watched
// funds reached an address (account chains) or a Bitcoin output, and, for the models that
// count value, how much of what it holds is watched funds.
type Taint struct {
	Root   string // the watched source address the funds came from
	Source Source
	// Path is the hops from the root to this address; len(Path) is the hop count.
	Path []Hop
	// By is the key of the movement that created the taint.
	By string
	// Amount is, for a Bitcoin output under haircut, the part of its value that is
	// tainted; nil means all of it.
	Amount *big.Int
	// Lots is, for a Bitcoin output under FIFO, its value in order, tainted and clean.
	Lots []Lot
	// Holdings are, for an address on an account chain under haircut or FIFO, what it
	// holds of each asset as far as flowwatch has seen value arrive and leave since the
	// address was first tainted.
	Holdings []Holding
}

// Rule is one alerting rule.
type Rule struct {
	Name     string
	Severity string
	// SourceCategories limits the rule to sources of these categories; empty means any.
	SourceCategories []string
	// Destinations are the label categories whose arrival alerts.
	Destinations []string
	// MaxHops is how far from the source a destination may be: 1 alerts on direct
	// payments only.
	MaxHops int
	// Model is how taint spreads: ModelPoison (default), ModelHaircut or ModelFIFO.
	Model string
	// MinAmount is, per asset (chains.AssetNative or a token's address), the least tainted
	// amount, in base units, that the rule alerts on and follows further.
	MinAmount map[string]*big.Int
	// Window is how long after funds left the source the rule still follows them and
	// alerts (measured between block times); 0: no limit.
	Window time.Duration
	// MaxTracked caps how many addresses (or Bitcoin outputs) the rule's model tracks per
	// source; 0: no cap. A capped source's funds are still seen reaching destinations from
	// the addresses already tracked, but no new address is added.
	MaxTracked int64
	// Direct makes the rule one of direct exposure: it alerts on every movement that pays
	// an address designated, at the movement's time, as a source of one of SourceCategories
	// (any category when empty), whoever pays and whatever the funds' origin. Destinations,
	// the budgets and Model do not apply.
	Direct bool
	// Pattern makes the rule a pattern rule (PatternFanOut, PatternDormant: see
	// pattern.go), with its thresholds Count, Window and Idle. Destinations, MaxHops and
	// Model do not apply.
	Pattern string
	// Count is how many fresh addresses make a fan-out.
	Count int
	// Idle is how long a source must have been still for its next movement to alert
	// (PatternDormant).
	Idle time.Duration
	// PeelPercent is the largest share of a peel transaction's outputs its peel may be
	// (PatternPeel); 0: DefaultPeelPercent.
	PeelPercent int
}

// Taint models.
const (
	// ModelPoison: any tainted input taints every output fully.
	ModelPoison = "poison"
	// ModelHaircut: each output carries the tainted share of the inputs' value (or of the
	// address's balance) in proportion to its own value.
	ModelHaircut = "haircut"
	// ModelFIFO: value leaves an address (or a transaction's inputs reach its outputs) in
	// the order it arrived; each output carries the tainted value in its slice.
	ModelFIFO = "fifo"
)

// Validate reports what is wrong with the rule, naming the field.
func (r *Rule) Validate() error {
	switch {
	case r.Name == "":
		return errors.New("name: empty")
	case r.Direct:
		return nil
	case r.Pattern != "":
		return r.validatePattern()
	case len(r.Destinations) == 0:
		return fmt.Errorf("rule %s: destinations: empty", r.Name)
	case r.MaxHops < 1:
		return fmt.Errorf("rule %s: max_hops %d: want at least 1", r.Name, r.MaxHops)
	case r.Model != "" && r.Model != ModelPoison && r.Model != ModelHaircut &&
		r.Model != ModelFIFO:
		return fmt.Errorf("rule %s: model %q: want poison, haircut or fifo", r.Name, r.Model)
	case r.Window < 0:
		return fmt.Errorf("rule %s: window %s: want 0 (none) or more", r.Name, r.Window)
	case r.MaxTracked < 0:
		return fmt.Errorf("rule %s: max_tracked %d: want 0 (none) or more", r.Name,
			r.MaxTracked)
	}
	for asset, min := range r.MinAmount {
		if min == nil || min.Sign() < 0 {
			return fmt.Errorf("rule %s: min_amount %s: want 0 or more", r.Name, asset)
		}
	}
	return nil
}

// follows says whether the rule follows funds to destinations (not Direct, no Pattern).
func (r *Rule) follows() bool { return !r.Direct && r.Pattern == "" }

// model returns the rule's model, poison when unset.
func (r *Rule) model() string {
	if r.Model == "" {
		return ModelPoison
	}
	return r.Model
}

// applies says whether the rule follows funds of the source under model.
func (r *Rule) applies(model string, s Source) bool {
	return r.follows() && r.model() == model && (len(r.SourceCategories) == 0 ||
		slices.Contains(r.SourceCategories, s.Category))
}

// reaches says whether the rule alerts on funds arriving at an address labelled l: a
// destination it names, or an exchange's deposit address when it names the exchange.
func (r *Rule) reaches(l Label) bool {
	return slices.Contains(r.Destinations, l.Category) ||
		l.Category == CategoryExchangeDeposit && slices.Contains(r.Destinations, CategoryExchange)
}

// within says whether funds that took path (the last hop included), tainted by tainted of
// asset, are inside the rule's budgets: hops, minimum amount, time window.
func (r *Rule) within(path []Hop, asset string, tainted *big.Int) bool {
	return r.inside(len(path), path[0].Time, path[len(path)-1].Time, asset, tainted)
}

// inside is within for a path of depth hops, the first at time first and the last at last.
func (r *Rule) inside(depth int, first, last time.Time, asset string, tainted *big.Int) bool {
	if depth > r.MaxHops || tainted.Sign() <= 0 {
		return false
	}
	if min, ok := r.MinAmount[asset]; ok && tainted.Cmp(min) < 0 {
		return false
	}
	return r.Window == 0 || last.Sub(first) <= r.Window
}

// models are the taint models, in the order Evaluate applies them.
var models = [...]string{ModelPoison, ModelHaircut, ModelFIFO}

// uses says whether a rule of rs follows funds under model.
func uses(rs []Rule, model string) bool {
	for i := range rs {
		if rs[i].follows() && rs[i].model() == model {
			return true
		}
	}
	return false
}

// anyDirect says whether rs has a direct-exposure rule.
func anyDirect(rs []Rule) bool {
	for i := range rs {
		if rs[i].Direct {
			return true
		}
	}
	return false
}

// ModelKey is the store key of key's taint under model: poison keeps the bare key (as
// earlier versions stored it), the others a prefix ("h/", "f/") no address or outpoint
// has.
func ModelKey(model, key string) string { return modelPrefix(model) + key }

// modelPrefix is the prefix of the store keys of model's taint.
func modelPrefix(model string) string {
	switch model {
	case ModelHaircut:
		return "h/"
	case ModelFIFO:
		return "f/"
	}
	return ""
}

// Counter names the count of keys tracked under model for funds of root.
func Counter(model, root string) string { return model + "|" + root }

// View is what the rules know about addresses at the time of the movement. Addresses are
// normalized for the movement's chain.
type View interface {
	Source(addr string) (Source, bool)
	Label(addr string) (Label, bool)
	// Taint returns what is stored on the key prefix+base (see SplitKey, ModelKey and
	// PatternKey).
	Taint(prefix, base string) (Taint, bool)
	// Tracked returns how many keys a Counter counts.
	Tracked(counter string) int64
}

// Finding is a rule's verdict that watched funds reached a destination.
type Finding struct {
	Rule        *Rule
	Movement    *chains.Movement
	Root        string // the source address
	Source      Source
	Destination string
	Label       Label
	Path        []Hop // from the source to the destination, the last hop included
	// Output is the index in Movement.Outputs of the output that reached the destination.
	Output int
	// Tainted is how much of that output's amount is watched funds under the rule's model.
	Tainted *big.Int
}

// NewTaint is taint to store on a key (an address or outpoint under a model: Address is
// the ModelKey), replacing what the key held.
type NewTaint struct {
	Address string
	Taint   Taint
	// Counter, when the key held no taint, is the Counter the new taint adds to.
	Counter string
}

// Decision is what one movement changes. EvaluateTo may reuse one movement after movement
// (its slices and what it put together before); it is not safe for concurrent use.
type Decision struct {
	Findings []Finding
	Taints   []NewTaint
	// Capped names the counters whose cap (a rule's MaxTracked) kept an address from
	// being tracked.
	Capped []string
	// Flows are, when WantFlows is set, the hops of watched funds the movement made inside
	// some rule's budgets, whether they alerted, were stored or neither (funds arriving at
	// an address tracked already): what replay draws.
	Flows []Flow
	// WantFlows asks EvaluateTo for Flows; the pipeline, which has no use for them, leaves
	// it unset and does not pay for them.
	WantFlows bool

	// What EvaluateTo works out once per movement for all models, when one needs it: the
	// hop of an account transfer (none yet while its Amount is nil) and the movement's key.
	hop Hop
	key string
	// counters are the counters' names (Counter) put together before, by model and root,
	// kept across movements: at most as many as the sources times the models.
	counters map[[2]string]string
}

// counterOf is Counter(model, root), put together once per model and root for the life of
// the Decision.
func (d *Decision) counterOf(model, root string) string {
	k := [2]string{model, root}
	c, ok := d.counters[k]
	if !ok {
		if d.counters == nil {
			d.counters = map[[2]string]string{}
		}
		c = Counter(model, root)
		d.counters[k] = c
	}
	return c
}

// hopOf is the hop of account transfer m, from its sender to its recipient, built once
// per movement (EvaluateTo judges none whose amount is nil).
func (d *Decision) hopOf(m *chains.Movement) Hop {
	if d.hop.Amount == nil {
		d.hop = HopOf(m, m.Inputs[0].Address, m.Outputs[0])
	}
	return d.hop
}

// keyOf is m.Key(), put together once per movement.
func (d *Decision) keyOf(m *chains.Movement) string {
	if d.key == "" {
		d.key = m.Key()
	}
	return d.key
}

// Flow is one hop of watched funds under a model, and where it ended.
type Flow struct {
	Model  string
	Root   string // the source address the funds came from
	Source Source
	// Hop is the hop; its Tainted is set under haircut and FIFO, nil (all) under poison.
	Hop Hop
	// Depth is the hop's distance from the source: 1 for a payment by the source.
	Depth int
	// Destination is where the value ended when it is a labelled service (Label): the
	// recipient, or the mixer or bridge contract a deposit log names; "" otherwise.
	Destination string
	Label       Label
}

// Evaluate applies rules to one movement, under each model the rules use. A removed
// movement decides nothing: undoing what it did is the caller's (it knows what was stored
// and raised).
func Evaluate(rs []Rule, m *chains.Movement, v View) Decision {
	var d Decision
	EvaluateTo(&d, rs, m, v)
	return d
}

// EvaluateTo is Evaluate into d, whose slices it empties and reuses: a caller judging many
// movements allocates them once.
func EvaluateTo(d *Decision, rs []Rule, m *chains.Movement, v View) {
	d.Findings, d.Taints, d.Capped, d.Flows = d.Findings[:0], d.Taints[:0], d.Capped[:0],
		d.Flows[:0]
	d.hop, d.key = Hop{}, ""
	if m.Removed {
		return
	}
	if m.Kind == chains.KindUTXO {
		payer := ""
		for _, in := range m.Inputs {
			if in.Address != "" {
				payer = in.Address
				break
			}
		}
		if anyDirect(rs) {
			for j := range m.Outputs {
				d.Findings = directFindings(rs, m, v, j, payer, d.Findings)
			}
		}
		p := patternsOf(rs)
		if p.peel {
			evaluatePeel(rs, m, v, d)
		}
		if p.dormant {
			for _, in := range m.Inputs {
				if in.Address == "" || len(m.Outputs) == 0 {
					continue
				}
				if s, ok := v.Source(in.Address); ok {
					evaluateDormant(rs, m, v, d, in.Address, s, m.Outputs[0])
					break
				}
			}
		}
		for _, model := range models {
			if uses(rs, model) {
				evaluateUTXO(rs, model, m, v, d)
			}
		}
		return
	}
	if len(m.Inputs) != 1 || len(m.Outputs) != 1 {
		return
	}
	if anyDirect(rs) {
		d.Findings = directFindings(rs, m, v, 0, m.Inputs[0].Address, d.Findings)
	}
	if m.Inputs[0].Address == m.Outputs[0].Address || m.Outputs[0].Amount == nil {
		return
	}
	if m.Kind != chains.KindEvent {
		evaluatePatterns(rs, patternsOf(rs), m, v, d)
	}
	for _, model := range models {
		if uses(rs, model) {
			evaluateAccount(rs, model, m, v, d)
		}
	}
}

// directFindings appends the direct-exposure rules' findings on output j of m, paid by
// payer: the output's address is designated as a source at the movement's time.
func directFindings(rs []Rule, m *chains.Movement, v View, j int, payer string,
	out []Finding) []Finding {
	o := &m.Outputs[j]
	if o.Address == "" || o.Amount == nil || o.Amount.Sign() == 0 || o.Address == payer {
		return out
	}
	s, designated := v.Source(o.Address)
	if !designated {
		return out
	}
	for i := range rs {
		r := &rs[i]
		if !r.Direct || len(r.SourceCategories) > 0 &&
			!slices.Contains(r.SourceCategories, s.Category) {
			continue
		}
		hop := HopOf(m, payer, *o)
		out = append(out, Finding{Rule: r, Movement: m, Root: payer, Destination: o.Address,
			Label: Label{Category: s.Category, Entity: s.Entity, List: s.List},
			Path:  []Hop{hop}, Output: j, Tainted: new(big.Int).Set(o.Amount)})
	}
	return out
}
