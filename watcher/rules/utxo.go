package rules

import (
	"math/big"
	"slices"
	"strconv"

	"github.com/flowwatch/flowwatch/chains"
)

// OutpointKey names a Bitcoin output in the taint store: "<txid>:<index>". No address has
// a colon, so outputs and addresses share the store without clashing.
func OutpointKey(tx string, index uint32) string {
	return tx + ":" + strconv.FormatUint(uint64(index), 10)
}

// taintedInput is an input that spends watched funds.
type taintedInput struct {
	origin Taint
	from   string
	share  *big.Int // its tainted part
}

// inputLots is the value an input spends under model, in order, and its origin if any of
// it is watched funds: all of it when it spends a source's output or, under poison, a
// tainted output; the stored tainted part under haircut; the stored lots under FIFO.
func inputLots(model string, in *chains.Leg, v View) ([]Lot, *Taint) {
	if in.Address != "" { // an output with no address is no source's
		if s, ok := v.Source(in.Address); ok {
			return []Lot{{Amount: in.Amount, Tainted: true}},
				&Taint{Root: in.Address, Source: s}
		}
	}
	t, ok := v.Taint(modelPrefix(model), OutpointKey(in.PrevTx, in.PrevIndex))
	if !ok {
		return []Lot{{Amount: in.Amount}}, nil
	}
	switch {
	case model == ModelHaircut && t.Amount != nil && t.Amount.Cmp(in.Amount) < 0:
		return appendLots(nil, Lot{Amount: t.Amount, Tainted: true},
			Lot{Amount: new(big.Int).Sub(in.Amount, t.Amount)}), &t
	case model == ModelFIFO && t.Lots != nil:
		lots, _ := takeLots(t.Lots, in.Amount) // the node's value is the truth
		return lots, &t
	}
	return []Lot{{Amount: in.Amount, Tainted: true}}, &t
}

// evaluateUTXO judges a Bitcoin transaction under model, adding to d. Its tainted inputs
// are those that spend an output of a watched source address or a tainted output (an
// outpoint, so that funds are followed through addresses never seen before). Each output
// then carries, under poison, all of its value as watched funds; under haircut, value ×
// tainted input value / total input value; under FIFO, the tainted value in its slice of
// the inputs' value laid end to end in input order (outputs in order, the fee last). An
// output paid to a labelled destination alerts per rule; the others become tainted
// outputs, following on, unless they pay a labelled service, a watched source or no
// address (OP_RETURN), or the rules' budgets are used up. The path goes back through the
// tainted input with the largest tainted share.
func evaluateUTXO(rs []Rule, model string, m *chains.Movement, v View, d *Decision) {
	var tins []taintedInput
	var queue []Lot
	total, shareIn := new(big.Int), new(big.Int)
	for i := range m.Inputs {
		in := &m.Inputs[i]
		if in.Coinbase || in.Amount == nil {
			continue
		}
		total.Add(total, in.Amount)
		lots, origin := inputLots(model, in, v)
		queue = appendLots(queue, lots...)
		if origin == nil {
			continue
		}
		share := taintedIn(lots)
		shareIn.Add(shareIn, share)
		tins = append(tins, taintedInput{origin: *origin, from: in.Address, share: share})
	}
	if len(tins) == 0 || total.Sign() == 0 {
		return
	}
	origin := tins[0]
	for _, ti := range tins {
		if ti.share.Cmp(origin.share) > 0 {
			origin = ti
		}
	}
	counter := d.counterOf(model, origin.origin.Root)
	for j := range m.Outputs {
		out := &m.Outputs[j]
		if out.Amount == nil || out.Amount.Sign() == 0 {
			continue
		}
		var lots []Lot
		var tainted *big.Int
		switch model {
		case ModelHaircut:
			tainted = new(big.Int).Mul(out.Amount, shareIn)
			tainted.Quo(tainted, total)
		case ModelFIFO:
			lots, queue = takeLots(queue, out.Amount)
			tainted = taintedIn(lots)
		default:
			tainted = new(big.Int).Set(out.Amount)
		}
		if tainted.Sign() == 0 {
			continue
		}
		hop := HopOf(m, origin.from, *out)
		if model != ModelPoison {
			hop.Tainted = new(big.Int).Set(tainted)
		}
		path := append(slices.Clip(origin.origin.Path), hop)
		var label Label
		labelled := false
		if out.Address != "" {
			label, labelled = v.Label(out.Address)
		}
		follow, capped, inside := false, false, false
		for i := range rs {
			r := &rs[i]
			if !r.applies(model, origin.origin.Source) || !r.within(path, out.Asset, tainted) {
				continue
			}
			inside = true
			if labelled && r.reaches(label) {
				d.Findings = append(d.Findings, Finding{Rule: r, Movement: m,
					Root: origin.origin.Root, Source: origin.origin.Source,
					Destination: out.Address, Label: label, Path: path, Output: j,
					Tainted: new(big.Int).Set(tainted)})
			}
			if len(path) < r.MaxHops {
				ok := r.MaxTracked == 0 || v.Tracked(counter) < r.MaxTracked
				follow, capped = follow || ok, capped || !ok
			}
		}
		if inside && d.WantFlows {
			d.Flows = append(d.Flows, flowOf(model, &origin.origin, hop, len(path),
				out.Address, label, labelled))
		}
		if labelled || out.Address == "" {
			continue
		}
		if _, watched := v.Source(out.Address); watched {
			continue
		}
		op := OutpointKey(m.Tx, out.Index)
		if _, tracked := v.Taint(modelPrefix(model), op); tracked {
			continue
		}
		if !follow {
			if capped {
				d.Capped = append(d.Capped, counter)
			}
			continue
		}
		nt := Taint{Root: origin.origin.Root, Source: origin.origin.Source, Path: path,
			By: d.keyOf(m)}
		switch model {
		case ModelHaircut:
			nt.Amount = tainted
		case ModelFIFO:
			nt.Lots = lots
		}
		d.Taints = append(d.Taints, NewTaint{Address: modelPrefix(model) + op, Taint: nt,
			Counter: counter}, NewTaint{Address: ReceivedKey(model, out.Address), Taint: nt})
	}
}

// ReceivedKey is the store key of the latest tainted output paid to a Bitcoin address
// under model: the rules follow outputs, not addresses, and write this only for the
// screening of an address to find. The rules never read it.
func ReceivedKey(model, addr string) string { return modelPrefix(model) + "r/" + addr }
