package watcher

import (
	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// alert is the alert a finding raises: on Bitcoin it names the output that reached the
// destination; under haircut and FIFO it says, for the movement and each hop, the part of
// the amount that is watched funds.
func (w *Worker) alert(f *rules.Finding) alerting.Alert {
	return alertOf(f, alerting.StateConfirmed, w.opts.Explorers)
}

// alertOf is the alert a finding raises, in state; explorers give, per chain, the prefix
// of a transaction's link.
func alertOf(f *rules.Finding, state alerting.State, explorers map[string]string) alerting.Alert {
	m := f.Movement
	out := &m.Outputs[f.Output]
	position := m.Position
	if m.Kind == chains.KindUTXO { // a Bitcoin alert names the output that arrived
		position = chains.PositionVout(out.Index)
	}
	a := alerting.Alert{
		ID:       alerting.AlertID(f.Rule.Name, m.Chain, m.Tx, position),
		Rule:     f.Rule.Name,
		Severity: f.Rule.Severity,
		State:    state,
		Chain:    m.Chain, Block: m.Block.Number, BlockHash: m.Block.Hash, Time: m.Block.Time,
		Tx: m.Tx, Position: position,
		Source: alerting.Party{Address: f.Root, Entity: f.Source.Entity,
			Category: f.Source.Category, List: f.Source.List},
		Destination: alerting.Party{Address: f.Destination, Entity: f.Label.Entity,
			Category: f.Label.Category, List: f.Label.List, Evidence: f.Label.Evidence},
		Asset:   out.Asset,
		Amount:  out.Amount.String(),
		ToChain: m.ToChain,
	}
	if f.Tainted != nil && f.Tainted.Cmp(out.Amount) != 0 {
		a.TaintedAmount = f.Tainted.String()
	}
	for _, h := range f.Path {
		hop := alerting.Hop{Block: h.Block, Tx: h.Tx, Position: h.Position, From: h.From,
			To: h.To, Asset: h.Asset, Amount: h.Amount.String()}
		if h.Tainted != nil && h.Tainted.Cmp(h.Amount) != 0 {
			hop.TaintedAmount = h.Tainted.String()
		}
		a.Path = append(a.Path, hop)
	}
	if prefix, ok := explorers[m.Chain]; ok {
		a.Explorer = prefix + m.Tx
	}
	return a
}
