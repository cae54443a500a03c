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

// Keys returns the taint-store keys that evaluating m reads: on account chains its sender
// and receiver, on Bitcoin the outputs its inputs spend and the outputs it creates.
func Keys(m *chains.Movement) []string {
	if m.Kind != chains.KindUTXO {
		if len(m.Inputs) == 0 || len(m.Outputs) == 0 {
			return nil
		}
		return []string{m.Inputs[0].Address, m.Outputs[len(m.Outputs)-1].Address}
	}
	keys := make([]string, 0, len(m.Inputs)+len(m.Outputs))
	for _, in := range m.Inputs {
		if !in.Coinbase {
			keys = append(keys, OutpointKey(in.PrevTx, in.PrevIndex))
		}
	}
	for _, o := range m.Outputs {
		keys = append(keys, OutpointKey(m.Tx, o.Index))
	}
	return keys
}

// taintedInput is an input that spends watched funds.
type taintedInput struct {
	origin Taint
	from   string
	full   *big.Int // the input's value
	share  *big.Int // its tainted part (haircut)
}

// evaluateUTXO judges a Bitcoin transaction. Its tainted inputs are those that spend an
// output of a watched source address or a tainted output (an outpoint, so that funds are
// followed through addresses never seen before). Each output then carries, under poison,
// all of its value as watched funds and, under haircut, value × tainted input value / total
// input value. An output paid to a labelled destination alerts per rule; the others become
// tainted outputs, following on, unless they pay a labelled service, a watched source or
// no address (OP_RETURN), or the rules' hops are used up. The path goes back through the
// tainted input with the largest tainted share.
func evaluateUTXO(rs []Rule, m *chains.Movement, v View) Decision {
	var d Decision
	payer := ""
	for _, in := range m.Inputs {
		if in.Address != "" {
			payer = in.Address
			break
		}
	}
	for j := range m.Outputs {
		d.Findings = directFindings(rs, m, v, j, payer, d.Findings)
	}
	var tins []taintedInput
	total := new(big.Int)
	for _, in := range m.Inputs {
		if in.Coinbase || in.Amount == nil {
			continue
		}
		total.Add(total, in.Amount)
		ti := taintedInput{from: in.Address, full: in.Amount, share: in.Amount}
		if s, ok := v.Source(in.Address); ok && in.Address != "" {
			ti.origin = Taint{Root: in.Address, Source: s}
		} else if t, ok := v.Taint(OutpointKey(in.PrevTx, in.PrevIndex)); ok {
			ti.origin = t
			if t.Amount != nil && t.Amount.Cmp(in.Amount) < 0 {
				ti.share = t.Amount
			}
		} else {
			continue
		}
		tins = append(tins, ti)
	}
	if len(tins) == 0 || total.Sign() == 0 {
		return d
	}
	origin := tins[0]
	shareIn := new(big.Int)
	for _, ti := range tins {
		shareIn.Add(shareIn, ti.share)
		if ti.share.Cmp(origin.share) > 0 {
			origin = ti
		}
	}
	for j := range m.Outputs {
		out := &m.Outputs[j]
		if out.Amount == nil || out.Amount.Sign() == 0 {
			continue
		}
		haircut := new(big.Int).Mul(out.Amount, shareIn)
		haircut.Quo(haircut, total)
		hop := Hop{Chain: m.Chain, Block: m.Block.Number, Tx: m.Tx,
			Position: chains.PositionVout(out.Index), From: origin.from, To: out.Address,
			Asset: out.Asset, Amount: new(big.Int).Set(out.Amount)}
		path := append(slices.Clip(origin.origin.Path), hop)
		label, labelled := v.Label(out.Address)
		if out.Address == "" {
			labelled = false
		}
		maxHops := 0
		for i := range rs {
			r := &rs[i]
			if r.Direct || len(r.SourceCategories) > 0 && !slices.Contains(r.SourceCategories,
				origin.origin.Source.Category) {
				continue
			}
			tainted := out.Amount
			if r.Model == ModelHaircut {
				tainted = haircut
			}
			if len(path) > r.MaxHops || tainted.Sign() == 0 {
				continue
			}
			maxHops = max(maxHops, r.MaxHops)
			if labelled && slices.Contains(r.Destinations, label.Category) {
				d.Findings = append(d.Findings, Finding{Rule: r, Movement: m,
					Root: origin.origin.Root, Source: origin.origin.Source,
					Destination: out.Address, Label: label, Path: path, Output: j,
					Tainted: new(big.Int).Set(tainted)})
			}
		}
		if labelled || out.Address == "" || len(path) >= maxHops {
			continue
		}
		if _, watched := v.Source(out.Address); watched {
			continue
		}
		key := OutpointKey(m.Tx, out.Index)
		if _, tainted := v.Taint(key); tainted {
			continue
		}
		d.Taints = append(d.Taints, NewTaint{Address: key, Taint: Taint{
			Root: origin.origin.Root, Source: origin.origin.Source, Path: path, By: m.Key(),
			Amount: haircut}})
	}
	return d
}
