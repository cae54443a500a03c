package rules

import (
	"errors"
	"fmt"
	"math/big"
	"slices"

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
}

// Hop is one step of watched funds: a movement from one address to the next.
type Hop struct {
	Chain    string
	Block    uint64
	Tx       string
	Position string
	From, To string
	Asset    string
	Amount   *big.Int
}

// Taint says how an address came to hold watched funds.
type Taint struct {
	Root   string // the watched source address the funds came from
	Source Source
	// Path is the hops from the root to this address; len(Path) is the hop count.
	Path []Hop
	// By is the key of the movement that created the taint (to undo it on a reorg).
	By string
	// Amount is, for a tainted Bitcoin output, the part of its value that is tainted by
	// the haircut model; nil means all of it (and for addresses on account chains).
	Amount *big.Int
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
	// Model is how taint spreads through a Bitcoin transaction: ModelPoison (default) or
	// ModelHaircut.
	Model string
	// Direct makes the rule one of direct exposure: it alerts on every movement that pays
	// an address designated, at the movement's time, as a source of one of SourceCategories
	// (any category when empty), whoever pays and whatever the funds' origin. Destinations,
	// MaxHops and Model do not apply.
	Direct bool
}

// Taint models.
const (
	// ModelPoison: any tainted input taints every output fully.
	ModelPoison = "poison"
	// ModelHaircut: each output carries the tainted share of the inputs' value in
	// proportion to its own value.
	ModelHaircut = "haircut"
)

// Validate reports what is wrong with the rule, naming the field.
func (r *Rule) Validate() error {
	switch {
	case r.Name == "":
		return errors.New("name: empty")
	case r.Direct:
		return nil
	case len(r.Destinations) == 0:
		return fmt.Errorf("rule %s: destinations: empty", r.Name)
	case r.MaxHops < 1:
		return fmt.Errorf("rule %s: max_hops %d: want at least 1", r.Name, r.MaxHops)
	case r.Model != "" && r.Model != ModelPoison && r.Model != ModelHaircut:
		return fmt.Errorf("rule %s: model %q: want poison or haircut", r.Name, r.Model)
	}
	return nil
}

// View is what the rules know about addresses at the time of the movement. Addresses are
// normalized for the movement's chain.
type View interface {
	Source(addr string) (Source, bool)
	Label(addr string) (Label, bool)
	Taint(addr string) (Taint, bool)
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

// NewTaint is taint to store on an address.
type NewTaint struct {
	Address string
	Taint   Taint
}

// Decision is what one movement changes.
type Decision struct {
	Findings []Finding
	Taints   []NewTaint
}

// Evaluate applies rules to one movement. A removed movement decides nothing: undoing what
// it did is the caller's (it knows what was stored and raised).
func Evaluate(rs []Rule, m *chains.Movement, v View) Decision {
	var d Decision
	if m.Removed {
		return d
	}
	if m.Kind == chains.KindUTXO {
		return evaluateUTXO(rs, m, v)
	}
	if len(m.Inputs) != 1 || len(m.Outputs) != 1 {
		return d
	}
	from, to := m.Inputs[0].Address, m.Outputs[0].Address
	d.Findings = directFindings(rs, m, v, 0, from, d.Findings)
	origin, ok := originOf(from, v)
	if !ok || from == to {
		return d
	}
	hop := Hop{Chain: m.Chain, Block: m.Block.Number, Tx: m.Tx, Position: m.Position,
		From: from, To: to, Asset: m.Outputs[0].Asset,
		Amount: new(big.Int).Set(m.Outputs[0].Amount)}
	path := append(slices.Clip(origin.Path), hop)
	label, labelled := v.Label(to)
	maxHops := 0
	for i := range rs {
		r := &rs[i]
		if r.Direct || len(r.SourceCategories) > 0 && !slices.Contains(r.SourceCategories,
			origin.Source.Category) {
			continue
		}
		if len(path) > r.MaxHops {
			continue
		}
		maxHops = max(maxHops, r.MaxHops)
		if labelled && slices.Contains(r.Destinations, label.Category) {
			d.Findings = append(d.Findings, Finding{Rule: r, Movement: m, Root: origin.Root,
				Source: origin.Source, Destination: to, Label: label, Path: path,
				Tainted: new(big.Int).Set(m.Outputs[0].Amount)})
		}
	}
	// Following goes on through unlabelled addresses only: a service (exchange, mixer,
	// bridge, ...) is a destination, never a new source; a watched source is already one;
	// an address already tainted keeps its first taint (poison).
	if labelled || len(path) >= maxHops {
		return d
	}
	if _, watched := v.Source(to); watched {
		return d
	}
	if _, tainted := v.Taint(to); tainted {
		return d
	}
	d.Taints = append(d.Taints, NewTaint{Address: to, Taint: Taint{Root: origin.Root,
		Source: origin.Source, Path: path, By: m.Key()}})
	return d
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
		hop := Hop{Chain: m.Chain, Block: m.Block.Number, Tx: m.Tx, Position: m.Position,
			From: payer, To: o.Address, Asset: o.Asset, Amount: new(big.Int).Set(o.Amount)}
		if m.Kind == chains.KindUTXO {
			hop.Position = chains.PositionVout(o.Index)
		}
		out = append(out, Finding{Rule: r, Movement: m, Root: payer, Destination: o.Address,
			Label: Label{Category: s.Category, Entity: s.Entity, List: s.List},
			Path:  []Hop{hop}, Output: j, Tainted: new(big.Int).Set(o.Amount)})
	}
	return out
}

// originOf says whether addr holds watched funds: it is a source itself, or tainted.
func originOf(addr string, v View) (Taint, bool) {
	if s, ok := v.Source(addr); ok {
		return Taint{Root: addr, Source: s}, true
	}
	return v.Taint(addr)
}
