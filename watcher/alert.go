package watcher

import (
	"time"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/fanin"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// alert is the alert a finding raises: on Bitcoin it names the output that reached the
// destination; under haircut and FIFO it says, for the movement and each hop, the part of
// the amount that is watched funds.
func (w *Worker) alert(f *rules.Finding) alerting.Alert {
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
		State:    alerting.StateConfirmed,
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
	if prefix, ok := w.opts.Explorers[m.Chain]; ok {
		a.Explorer = prefix + m.Tx
	}
	return a
}

// view is what the rules see of one movement's addresses.
type view struct {
	lists  Lists
	chain  string
	at     time.Time              // the movement's block time
	cache  *chainCache            // what the store held before the batch
	added  map[string]rules.Taint // what the batch wrote so far
	counts map[string]int64       // the keys the batch added, per counter
	// deposits holds, when the chain infers deposit addresses, the inferred labels of the
	// batch's addresses (read with the batch's keys, and written by the batch); nil when
	// it does not.
	deposits map[string]rules.Label
	senders  *fanin.Tracker // nil: no fan-in rule
}

// noteDeposit makes an inference the batch read or wrote visible to Label.
func (v *view) noteDeposit(key string, t *rules.Taint) {
	if v.deposits == nil {
		return
	}
	if a, ok := deposit.Addr(key); ok {
		v.deposits[a] = deposit.Label(*t)
	}
}

var _ rules.SenderView = (*view)(nil)

// Senders implements rules.SenderView.
func (v *view) Senders(a string) []rules.Hop {
	if v.senders == nil {
		return nil
	}
	return v.senders.Senders(a, v.at)
}

// A view is handed to the rules as a pointer: as a value it would be copied to the heap
// for every movement.
var _ rules.View = (*view)(nil)

func (v *view) Source(a string) (rules.Source, bool) { return v.lists.SourceAt(v.chain, a, v.at) }

// Label is the address's label in the lists or, failing that, inferred.
func (v *view) Label(a string) (rules.Label, bool) {
	if l, ok := v.lists.LabelAt(v.chain, a, v.at); ok {
		return l, true
	}
	l, ok := v.deposits[a]
	return l, ok
}
func (v *view) Taint(a string) (rules.Taint, bool) {
	if t, ok := v.added[a]; ok {
		return t, true
	}
	return v.cache.taint(a)
}
func (v *view) Tracked(c string) int64 { return v.cache.counters[c] + v.counts[c] }
