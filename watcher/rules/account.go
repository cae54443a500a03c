package rules

import (
	"math/big"
	"slices"

	"github.com/flowwatch/flowwatch/chains"
)

// evaluateAccount judges a transfer on an account chain (one input, one output) under
// model, adding to d.
//
// The sender holds watched funds if it is a source (all it sends is tainted) or has taint
// under model. Under poison all it sends is tainted; under haircut the tainted share of
// its holding of the asset; under FIFO the tainted part of the value that arrived first.
// Under haircut and FIFO the sender's holding is debited, and a tracked receiver's is
// credited with what arrives, tainted or clean, so that later spends carry the right share.
// The transfer alerts per rule when it reaches a labelled destination within the rule's
// budgets; an unlabelled receiver that is neither a source nor tracked yet becomes tracked
// while some rule would still follow (budgets, MaxTracked).
func evaluateAccount(rs []Rule, model string, m *chains.Movement, v View, d *Decision) {
	from, to := m.Inputs[0].Address, m.Outputs[0].Address
	asset, amount := m.Outputs[0].Asset, m.Outputs[0].Amount
	if amount.Sign() <= 0 {
		return // zero-value transfers (approvals, address-poisoning spam) carry nothing
	}
	// Most movements touch no tracked address: they are let go before anything is
	// allocated.
	var origin Taint
	held := false        // the sender holds watched funds under model
	var tainted *big.Int // what leaves that is watched funds; nil: none
	var lots []Lot       // FIFO: what leaves, in order; nil: all clean
	prefix := modelPrefix(model)
	if s, ok := v.Source(from); ok {
		origin, held, tainted = Taint{Root: from, Source: s}, true, amount
		if model == ModelFIFO {
			lots = []Lot{{Amount: amount, Tainted: true}}
		}
	} else if t, ok := v.Taint(prefix, from); ok {
		origin, held = t, true
		if model == ModelPoison {
			tainted = amount
		} else if h, ok := t.holding(asset); ok {
			var left Holding
			tainted, lots, left = spend(model, h, amount)
			if m.Kind != chains.KindEvent { // an event moved nothing of the sender's
				d.Taints = append(d.Taints, NewTaint{Address: prefix + from,
					Taint: t.withHolding(left)})
			}
		}
	}
	if !held {
		// Clean value: it only matters to a tracked receiver's holding (haircut, FIFO).
		if model == ModelPoison {
			return
		}
		if _, ok := v.Taint(prefix, to); !ok {
			return
		}
	}

	dest, label, labelled := destination(m, v)
	// The path is built only where it is kept (a finding, a new taint), and the counter
	// named at most once.
	var path []Hop
	counter := ""
	follow, capped := false, false
	if tainted != nil && tainted.Sign() > 0 {
		hop := d.hopOf(m) // its Amount shared by the models' paths, which never change it
		if model != ModelPoison {
			hop.Tainted = new(big.Int).Set(tainted)
		}
		depth, first := len(origin.Path)+1, hop.Time
		if len(origin.Path) > 0 {
			first = origin.Path[0].Time
		}
		inside := false
		for i := range rs {
			r := &rs[i]
			if !r.applies(model, origin.Source) ||
				!r.inside(depth, first, hop.Time, asset, tainted) {
				continue
			}
			inside = true
			if labelled && r.reaches(label) {
				if path == nil {
					path = append(slices.Clip(origin.Path), hop)
				}
				d.Findings = append(d.Findings, Finding{Rule: r, Movement: m, Root: origin.Root,
					Source: origin.Source, Destination: dest, Label: label, Path: path,
					Tainted: new(big.Int).Set(tainted)})
			}
			if depth < r.MaxHops {
				if counter == "" {
					counter = d.counterOf(model, origin.Root)
				}
				ok := r.MaxTracked == 0 || v.Tracked(counter) < r.MaxTracked
				follow, capped = follow || ok, capped || !ok
			}
		}
		if inside && d.WantFlows {
			d.Flows = append(d.Flows, flowOf(model, &origin, hop, depth, dest, label,
				labelled))
		}
		if follow && path == nil {
			path = append(slices.Clip(origin.Path), hop)
		}
	}

	// A service (exchange, mixer, bridge, ...) is a destination, never followed, and so is
	// a router that passed a deposit on to one; a source is watched already.
	if labelled {
		return
	}
	if _, watched := v.Source(to); watched {
		return
	}
	if rec, ok := v.Taint(prefix, to); ok {
		if model != ModelPoison { // credit what arrives, tainted or clean
			if lots == nil {
				lots = []Lot{{Amount: amount}}
			}
			h, _ := rec.holding(asset)
			h.Asset = asset
			d.Taints = append(d.Taints, NewTaint{Address: prefix + to,
				Taint: rec.withHolding(receive(model, h, amount, orZero(tainted), lots))})
		}
		return
	}
	if !follow {
		if capped {
			d.Capped = append(d.Capped, counter)
		}
		return
	}
	nt := Taint{Root: origin.Root, Source: origin.Source, Path: path, By: d.keyOf(m)}
	if model != ModelPoison {
		nt.Holdings = []Holding{receive(model, Holding{Asset: asset}, amount, tainted, lots)}
	}
	d.Taints = append(d.Taints, NewTaint{Address: prefix + to, Taint: nt, Counter: counter})
}

// destination is where a transfer's value ends, and what that is: for a transfer that a
// recognized deposit log marks (m.Event), the contract that emitted the log, labelled as
// the lists say or, failing that, as the log shows (EventLabel); for any other, the
// recipient and its label.
func destination(m *chains.Movement, v View) (string, Label, bool) {
	if m.EventContract == "" {
		to := m.Outputs[0].Address
		l, ok := v.Label(to)
		return to, l, ok
	}
	if l, ok := v.Label(m.EventContract); ok {
		return m.EventContract, l, true
	}
	l, ok := EventLabel(m.Event)
	return m.EventContract, l, ok
}

// EventLabel is the label a recognized deposit log gives the contract that emitted it.
func EventLabel(event string) (Label, bool) {
	switch event {
	case chains.EventMixerDeposit:
		return Label{Category: CategoryMixer, Entity: "mixer pool (Tornado Cash Deposit log)",
			List: ListEvent}, true
	case chains.EventBridgeDeposit:
		return Label{Category: CategoryBridge, Entity: "bridge (deposit log)",
			List: ListEvent}, true
	}
	return Label{}, false
}

// flowOf is the Flow of hop, the depth-th of funds of origin, ending at dest when it is
// labelled.
func flowOf(model string, origin *Taint, hop Hop, depth int, dest string, label Label,
	labelled bool) Flow {
	f := Flow{Model: model, Root: origin.Root, Source: origin.Source, Hop: hop, Depth: depth}
	if labelled {
		f.Destination, f.Label = dest, label
	}
	return f
}
