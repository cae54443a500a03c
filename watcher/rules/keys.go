package rules

// What a movement's evaluation reads: which store keys and which addresses.

import (
	"strings"

	"github.com/flowwatch/flowwatch/chains"
)

// A store key is a prefix and a base: the base is an address, a Bitcoin outpoint
// (OutpointKey) or a transaction hash, none of which holds a '/'; the prefix says what is
// kept about the base: "" the poison taint, "h/" and "f/" the haircut and FIFO taint
// (ModelKey), "p/<pattern>/" a pattern's record (PatternKey); callers may add their own
// (the deposit inference's "d/").

// SplitKey returns a store key's prefix and base.
func SplitKey(key string) (prefix, base string) {
	i := strings.LastIndexByte(key, '/')
	return key[:i+1], key[i+1:]
}

// Prefixes returns the prefixes of the store keys that Evaluate reads under rs, in a fixed
// order.
func Prefixes(rs []Rule) []string {
	var out []string
	p := patternsOf(rs)
	// The pattern rules ask whether an address (or, for peels, an output) is followed
	// under poison.
	if uses(rs, ModelPoison) || p.fanOut || p.fanIn || p.swap || p.peel {
		out = append(out, "")
	}
	for _, model := range models[1:] {
		if uses(rs, model) {
			out = append(out, ModelKey(model, ""))
		}
	}
	for _, pat := range []struct {
		on   bool
		name string
	}{{p.fanOut, PatternFanOut}, {p.fanIn, PatternFanIn}, {p.dormant, PatternDormant},
		{p.peel, PatternPeel}, {p.swap, PatternSwap}} {
		if pat.on {
			out = append(out, PatternKey(pat.name, ""))
		}
	}
	return out
}

// AppendBases appends to bases the bases of the store keys that Evaluate(rs, m, ·) reads
// and the addresses it asks the View's Source and Label about; repeats are possible:
//
//   - on an account chain, every input's and output's address, the contract of a deposit
//     log (m.EventContract) and, with a token-swap rule, the transaction;
//   - on Bitcoin, every input's address and the outpoint it spends, and every output's
//     address and outpoint.
//
// Evaluate reads no store key outside Prefixes(rs) × these bases, and decides nothing
// (no finding, no taint, nothing capped) for a movement none of whose bases holds
// anything under Prefixes(rs) or is a source or labelled, at any time: a caller that
// knows this of a movement may skip Evaluate (the worker does, for most movements). The
// transaction, where Bases.Append says it is lazy, is read only if the sender is a source
// or labelled: when neither, it counts as holding nothing.
func AppendBases(bases []string, rs []Rule, m *chains.Movement) []string {
	bases, _ = NewBases(rs).Append(bases, m)
	return bases
}

// Bases finds the bases of movements under one rule set (see AppendBases), knowing once
// which patterns its rules use.
type Bases struct {
	swap bool // a token-swap rule reads the transaction
}

// NewBases returns the Bases of rs.
func NewBases(rs []Rule) Bases { return Bases{swap: patternsOf(rs).swap} }

// Append appends m's bases to bases, as AppendBases does. lazy says whether the last
// base appended is m's transaction, which Evaluate reads only if m's sender, the first
// base, is a source or labelled, at any time: a token-swap rule reads the swap kept under
// it only when a DEX pays. A caller that knows no list names the sender need not look the
// transaction up (it counts as holding nothing), which spares nearly every movement that
// lookup.
func (b Bases) Append(bases []string, m *chains.Movement) (_ []string, lazy bool) {
	if m.Kind == chains.KindUTXO {
		for i := range m.Inputs {
			in := &m.Inputs[i]
			if in.Address != "" {
				bases = append(bases, in.Address)
			}
			if !in.Coinbase {
				bases = append(bases, OutpointKey(in.PrevTx, in.PrevIndex))
			}
		}
		for i := range m.Outputs {
			o := &m.Outputs[i]
			if o.Address != "" {
				bases = append(bases, o.Address)
			}
			bases = append(bases, OutpointKey(m.Tx, o.Index))
		}
		return bases, false
	}
	for i := range m.Inputs {
		if a := m.Inputs[i].Address; a != "" {
			bases = append(bases, a)
		}
	}
	for i := range m.Outputs {
		if a := m.Outputs[i].Address; a != "" {
			bases = append(bases, a)
		}
	}
	if m.EventContract != "" {
		bases = append(bases, m.EventContract)
	}
	if !b.swap || m.Tx == "" {
		return bases, false
	}
	return append(bases, m.Tx), len(m.Inputs) > 0 && m.Inputs[0].Address != ""
}
