package rules

import (
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/flowwatch/flowwatch/chains"
)

// Pattern rules: shapes of laundering that no single hop shows. Each keeps what it has seen
// in the taint store, under PatternKey, as a Taint whose Path is the evidence so far, so
// that it survives restarts and a reorg undoes it with the movement that wrote it.
const (
	// PatternFanOut: watched funds split into at least Count fresh addresses (unlabelled,
	// not watched, not yet followed) within Window.
	PatternFanOut = "fan_out"
	// PatternDormant: a watched source moves after at least Idle without moving (as far as
	// flowwatch has seen it: its first movement seen sets the clock).
	PatternDormant = "dormant"
	// PatternPeel: a run of at least Count Bitcoin transactions, starting from watched
	// funds, each paying a small part (at most PeelPercent of its outputs) to one address
	// and the rest to another, whose output the next one spends.
	PatternPeel = "peel_chain"
	// PatternSwap: watched funds paid to a DEX (an address labelled CategoryDEX) and
	// another asset paid by a DEX in the same transaction to the payer or a fresh address:
	// the taint crosses to the other asset (under poison: the receiver is followed).
	PatternSwap = "token_swap"
	// PatternFanIn: an address that was paid by at least Count distinct senders within
	// Window pays a watched source or an address followed under poison; an address that a
	// list labels (a service) is not one. Every payer of a watched source is recorded as
	// its counterparty (PatternCounterparty).
	PatternFanIn = "fan_in"
	// PatternCounterparty keys the record of an address's latest payment to a watched
	// source (its outgoing exposure, for screening).
	PatternCounterparty = "counterparty"
)

// SenderView is what a View that remembers recent payments (the worker's does) tells the
// fan-in rule: an address's distinct senders, their latest payments, oldest first.
type SenderView interface {
	Senders(addr string) []Hop
}

// CategoryDEX is the label category of decentralized exchanges (routers, pools).
const CategoryDEX = "dex"

// DefaultPeelPercent is the largest share of a peel transaction's outputs the peel may be.
const DefaultPeelPercent = 25

// PatternKey is the store key of what pattern has seen of addr.
func PatternKey(pattern, addr string) string { return patternPrefix(pattern) + addr }

// patternPrefix is the prefix of pattern's store keys, a constant for the patterns here.
func patternPrefix(pattern string) string {
	switch pattern {
	case PatternFanOut:
		return "p/fan_out/"
	case PatternFanIn:
		return "p/fan_in/"
	case PatternDormant:
		return "p/dormant/"
	case PatternPeel:
		return "p/peel_chain/"
	case PatternSwap:
		return "p/token_swap/"
	case PatternCounterparty:
		return "p/counterparty/"
	}
	return "p/" + pattern + "/"
}

// validatePattern reports what is wrong with a pattern rule.
func (r *Rule) validatePattern() error {
	switch r.Pattern {
	case PatternFanOut, PatternFanIn:
		if r.Count < 2 {
			return fmt.Errorf("rule %s: count %d: want at least 2", r.Name, r.Count)
		}
		if r.Window <= 0 {
			return fmt.Errorf("rule %s: window: want more than 0 for a %s", r.Name, r.Pattern)
		}
	case PatternDormant:
		if r.Idle <= 0 {
			return fmt.Errorf("rule %s: idle: want more than 0", r.Name)
		}
	case PatternSwap:
	case PatternPeel:
		if r.Count < 2 {
			return fmt.Errorf("rule %s: count %d: want at least 2", r.Name, r.Count)
		}
		if r.PeelPercent < 0 || r.PeelPercent >= 50 {
			return fmt.Errorf("rule %s: peel_percent %d: want 1 to 49 (0: %d)", r.Name,
				r.PeelPercent, DefaultPeelPercent)
		}
	default:
		return fmt.Errorf("rule %s: pattern %q: want %s, %s, %s, %s or %s", r.Name,
			r.Pattern, PatternFanOut, PatternFanIn, PatternDormant, PatternPeel, PatternSwap)
	}
	return nil
}

// patternSet says which patterns a rule set uses.
type patternSet struct{ fanOut, fanIn, dormant, peel, swap bool }

// patternsOf returns the patterns rs use, in one pass over the rules.
func patternsOf(rs []Rule) patternSet {
	var p patternSet
	for i := range rs {
		switch rs[i].Pattern {
		case PatternFanOut:
			p.fanOut = true
		case PatternFanIn:
			p.fanIn = true
		case PatternDormant:
			p.dormant = true
		case PatternPeel:
			p.peel = true
		case PatternSwap:
			p.swap = true
		}
	}
	return p
}

// evaluatePatterns applies the pattern rules p (of rs) to a transfer on an account chain.
func evaluatePatterns(rs []Rule, p patternSet, m *chains.Movement, v View, d *Decision) {
	from, to := m.Inputs[0].Address, m.Outputs[0].Address
	if p.dormant {
		if s, ok := v.Source(from); ok {
			evaluateDormant(rs, m, v, d, from, s, m.Outputs[0])
		}
	}
	if p.fanOut {
		evaluateFanOut(rs, m, v, d, from, to)
	}
	if p.swap {
		evaluateSwap(rs, m, v, d, from, to)
	}
	if p.fanIn {
		evaluateFanIn(rs, m, v, d, from, to)
	}
}

// evaluateFanIn records a payer of a watched source as its counterparty, and alerts per
// fan-in rule, once per pooling address, when an address that Count or more distinct
// senders paid within the rule's window pays a watched source or a followed address. A
// labelled address (a service: an exchange, a bridge) is never the pooling address.
func evaluateFanIn(rs []Rule, m *chains.Movement, v View, d *Decision, from, to string) {
	o := m.Outputs[0]
	if o.Amount.Sign() <= 0 {
		return
	}
	if s, ok := v.Source(to); ok {
		d.Taints = append(d.Taints, NewTaint{Address: PatternKey(PatternCounterparty, from),
			Taint: Taint{Root: to, Source: s, Path: []Hop{d.hopOf(m)}, By: d.keyOf(m)}})
	}
	target, ok := holder(v, to)
	sv, remembers := v.(SenderView)
	if !ok || !remembers {
		return
	}
	if _, service := v.Label(from); service {
		return // an exchange's hot wallet, say, pools its customers' funds by design
	}
	if _, done := v.Taint(patternPrefix(PatternFanIn), from); done {
		return
	}
	senders := sv.Senders(from)
	fired := false
	for i := range rs {
		r := &rs[i]
		if r.Pattern != PatternFanIn || len(r.SourceCategories) > 0 &&
			!slices.Contains(r.SourceCategories, target.Source.Category) {
			continue
		}
		var in []Hop
		for _, h := range senders {
			if h.From != to && m.Block.Time.Sub(h.Time) <= r.Window {
				in = append(in, h)
			}
		}
		if len(in) < r.Count {
			continue
		}
		fired = true
		d.Findings = append(d.Findings, Finding{Rule: r, Movement: m, Root: target.Root,
			Source: target.Source, Destination: from, Label: Label{Category: PatternFanIn,
				Entity: fmt.Sprintf("pooled from %d senders", len(in))},
			Path: append(in, d.hopOf(m)), Tainted: new(big.Int).Set(o.Amount)})
	}
	if fired {
		d.Taints = append(d.Taints, NewTaint{Address: PatternKey(PatternFanIn, from),
			Taint: Taint{Root: target.Root,
				Source: target.Source, Path: []Hop{d.hopOf(m)}, By: d.keyOf(m)}})
	}
}

// evaluateSwap follows watched funds through a swap, within one transaction. When an
// address holding watched funds (a source, or followed under poison) pays a DEX, the hop is
// kept under the transaction's PatternKey; when a DEX then pays, in the same transaction,
// another asset to that payer or to a fresh address, the receiver holds the swapped funds:
// it is followed (poison) with the swap in its path, and each token-swap rule alerts.
func evaluateSwap(rs []Rule, m *chains.Movement, v View, d *Decision, from, to string) {
	o := m.Outputs[0]
	if o.Amount.Sign() <= 0 {
		return
	}
	// The swap is read only when a DEX pays (see Bases.Append).
	if l, ok := v.Label(from); ok && l.Category == CategoryDEX {
		if rec, ok := v.Taint(patternPrefix(PatternSwap), m.Tx); ok {
			swapped(rs, m, v, d, to, l, rec)
			return
		}
	}
	if l, ok := v.Label(to); !ok || l.Category != CategoryDEX {
		return
	}
	origin, held := holder(v, from)
	if held {
		d.Taints = append(d.Taints, NewTaint{Address: PatternKey(PatternSwap, m.Tx),
			Taint: Taint{Root: origin.Root, Source: origin.Source,
				Path: append(slices.Clip(origin.Path), d.hopOf(m)), By: d.keyOf(m)}})
	}
}

// swapped judges a DEX's payment m, the DEX labelled l, to address to, in a transaction
// whose swap rec kept: the receiver holds the swapped funds if the asset is another and it
// paid the DEX or is fresh.
func swapped(rs []Rule, m *chains.Movement, v View, d *Decision, to string, l Label,
	rec Taint) {
	o := m.Outputs[0]
	in := rec.Path[len(rec.Path)-1] // the payment into the DEX
	if o.Asset == in.Asset || to != in.From && !fresh(v, to) {
		return
	}
	path := append(slices.Clip(rec.Path), d.hopOf(m))
	if to != in.From {
		d.Taints = append(d.Taints, NewTaint{Address: to, Taint: Taint{Root: rec.Root,
			Source: rec.Source, Path: path, By: d.keyOf(m)},
			Counter: d.counterOf(ModelPoison, rec.Root)})
	}
	for i := range rs {
		r := &rs[i]
		if r.Pattern != PatternSwap || len(r.SourceCategories) > 0 &&
			!slices.Contains(r.SourceCategories, rec.Source.Category) {
			continue
		}
		d.Findings = append(d.Findings, Finding{Rule: r, Movement: m, Root: rec.Root,
			Source: rec.Source, Destination: to, Label: Label{Category: PatternSwap,
				Entity: "swapped at " + l.Entity},
			Path: path, Tainted: new(big.Int).Set(o.Amount)})
	}
}

// evaluateDormant notes that source s moved (paying o) and alerts per dormant rule when it
// had been still for the rule's Idle or longer.
func evaluateDormant(rs []Rule, m *chains.Movement, v View, d *Decision, from string,
	s Source, o chains.Leg) {
	now := HopOf(m, from, o)
	last, seen := v.Taint(patternPrefix(PatternDormant), from)
	if seen && len(last.Path) > 0 {
		prev := last.Path[len(last.Path)-1]
		if prev.Tx == m.Tx { // a later output or log of the same transaction
			return
		}
		still := m.Block.Time.Sub(prev.Time)
		for i := range rs {
			r := &rs[i]
			if r.Pattern != PatternDormant || still < r.Idle || len(r.SourceCategories) > 0 &&
				!slices.Contains(r.SourceCategories, s.Category) {
				continue
			}
			d.Findings = append(d.Findings, Finding{Rule: r, Movement: m, Root: from,
				Source: s, Destination: from, Label: Label{Category: PatternDormant,
					Entity: "moved after " + days(still) + " still"},
				Path: []Hop{prev, now}, Tainted: new(big.Int).Set(o.Amount)})
		}
	}
	d.Taints = append(d.Taints, NewTaint{Address: PatternKey(PatternDormant, from),
		Taint: Taint{Root: from, Source: s, Path: []Hop{now}, By: d.keyOf(m)}})
}

func days(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
	return d.Round(time.Minute).String()
}

// evaluateFanOut counts, for a sender that holds watched funds (a source, or an address
// followed under poison), the fresh addresses it paid within the window, and alerts per
// fan-out rule when the count reaches the rule's Count.
func evaluateFanOut(rs []Rule, m *chains.Movement, v View, d *Decision, from, to string) {
	o := m.Outputs[0]
	if o.Amount.Sign() <= 0 {
		return
	}
	origin, held := holder(v, from)
	if !held || !fresh(v, to) {
		return
	}
	rec, _ := v.Taint(patternPrefix(PatternFanOut), from)
	var window time.Duration
	for i := range rs {
		if rs[i].Pattern == PatternFanOut && rs[i].Window > window {
			window = rs[i].Window
		}
	}
	hops := make([]Hop, 0, len(rec.Path)+1)
	for _, h := range rec.Path {
		if m.Block.Time.Sub(h.Time) <= window && h.To != to {
			hops = append(hops, h)
		}
	}
	hops = append(hops, d.hopOf(m))
	d.Taints = append(d.Taints, NewTaint{Address: PatternKey(PatternFanOut, from),
		Taint: Taint{Root: origin.Root, Source: origin.Source, Path: hops, By: d.keyOf(m)}})
	for i := range rs {
		r := &rs[i]
		if r.Pattern != PatternFanOut || len(r.SourceCategories) > 0 &&
			!slices.Contains(r.SourceCategories, origin.Source.Category) {
			continue
		}
		var in []Hop // the hops inside this rule's window
		for _, h := range hops {
			if m.Block.Time.Sub(h.Time) <= r.Window {
				in = append(in, h)
			}
		}
		if len(in) != r.Count { // alert once, on the Count-th fresh address
			continue
		}
		d.Findings = append(d.Findings, Finding{Rule: r, Movement: m, Root: origin.Root,
			Source: origin.Source, Destination: from, Label: Label{Category: PatternFanOut,
				Entity: fmt.Sprintf("split into %d fresh addresses", len(in))},
			Path: in, Tainted: new(big.Int).Set(o.Amount)})
	}
}

// fresh says whether addr is new to flowwatch: not a labelled service, not watched, not
// followed yet.
func fresh(v View, addr string) bool {
	if _, ok := v.Label(addr); ok {
		return false
	}
	if _, ok := v.Source(addr); ok {
		return false
	}
	_, followed := v.Taint("", addr)
	return !followed
}

// holder returns where the watched funds an address holds come from: itself, if it is a
// source, or its taint under poison; held is false if it holds none.
func holder(v View, addr string) (origin Taint, held bool) {
	if s, ok := v.Source(addr); ok {
		return Taint{Root: addr, Source: s}, true
	}
	return v.Taint("", addr)
}
