package rules

// The peel-chain pattern, on Bitcoin transactions.

import (
	"fmt"
	"math/big"
	"slices"

	"github.com/flowwatch/flowwatch/chains"
)

// evaluatePeel extends, for a Bitcoin transaction shaped as a peel (two outputs to
// addresses, the smaller at most the rules' largest PeelPercent of both), the run of peels
// whose rest output it spends, or starts one when it spends watched funds; the run is
// stored on its rest output. Each peel rule alerts once, when the run reaches its Count
// among peels of at most its own PeelPercent.
func evaluatePeel(rs []Rule, m *chains.Movement, v View, d *Decision) {
	if len(m.Outputs) != 2 || m.Outputs[0].Address == "" || m.Outputs[1].Address == "" {
		return
	}
	peel, rest := m.Outputs[0], m.Outputs[1]
	if peel.Amount.Cmp(rest.Amount) > 0 {
		peel, rest = rest, peel
	}
	total := new(big.Int).Add(peel.Amount, rest.Amount)
	percent := func(r *Rule) int64 {
		if r.PeelPercent == 0 {
			return DefaultPeelPercent
		}
		return int64(r.PeelPercent)
	}
	// peel×100 <= total×percent: the peel's share, without division.
	within := func(p int64) bool {
		return new(big.Int).Mul(peel.Amount, big.NewInt(100)).Cmp(
			new(big.Int).Mul(total, big.NewInt(p))) <= 0
	}
	var widest int64
	for i := range rs {
		if rs[i].Pattern == PatternPeel && percent(&rs[i]) > widest {
			widest = percent(&rs[i])
		}
	}
	if !within(widest) {
		return
	}
	var run Taint
	found := false
	payer := ""
	for _, in := range m.Inputs {
		if in.Coinbase {
			continue
		}
		if payer == "" {
			payer = in.Address
		}
		op := OutpointKey(in.PrevTx, in.PrevIndex)
		if t, ok := v.Taint(patternPrefix(PatternPeel), op); ok {
			run, found = t, true
			break
		}
		if s, ok := v.Source(in.Address); ok && in.Address != "" {
			run, found = Taint{Root: in.Address, Source: s}, true
		} else if t, ok := v.Taint("", op); ok && !found {
			run, found = Taint{Root: t.Root, Source: t.Source}, true
		}
	}
	if !found {
		return
	}
	path := append(slices.Clip(run.Path), HopOf(m, payer, peel))
	d.Taints = append(d.Taints, NewTaint{Address: PatternKey(PatternPeel,
		OutpointKey(m.Tx, rest.Index)), Taint: Taint{Root: run.Root, Source: run.Source,
		Path: path, By: d.keyOf(m)}})
	for i := range rs {
		r := &rs[i]
		if r.Pattern != PatternPeel || !within(percent(r)) || len(r.SourceCategories) > 0 &&
			!slices.Contains(r.SourceCategories, run.Source.Category) {
			continue
		}
		if len(path) != r.Count { // alert once, on the Count-th peel
			continue
		}
		d.Findings = append(d.Findings, Finding{Rule: r, Movement: m, Root: run.Root,
			Source: run.Source, Destination: rest.Address, Label: Label{
				Category: PatternPeel, Entity: fmt.Sprintf("peel chain of %d", len(path))},
			Path: path, Output: outputIndex(m, peel.Index),
			Tainted: new(big.Int).Set(peel.Amount)})
	}
}

// outputIndex is the index in m.Outputs of the output numbered index.
func outputIndex(m *chains.Movement, index uint32) int {
	for j := range m.Outputs {
		if m.Outputs[j].Index == index {
			return j
		}
	}
	return 0
}
