package watcher

// How a worker judges what it read: a batch of movements through the rules to taint and
// alerts, what was applied before skipped, and a removed movement undone.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
)

// handleBatch evaluates a batch of (not removed) movements in order with one taint lookup,
// one pipelined write of their effects and one pass through the alerting pipeline. Taint
// that a movement creates is seen by the later movements of the same batch.
func (w *Worker) handleBatch(ctx context.Context, chain string, ms []chains.Movement) error {
	effects, alerts, err := w.judge(ctx, chain, ms)
	if err != nil {
		return err
	}
	fence := taint.Fence{}
	if k := w.owner.OwnerKey(chain); k != "" {
		fence = taint.Fence{Key: k, Holder: w.opts.Name}
	}
	w.cache.writing(chain, effects)
	if err := w.store.ApplyAll(ctx, chain, fence, effects); err != nil {
		return err
	}
	w.forgetTried(chain)
	w.cache.applied(chain, effects)
	w.stats.judged(chain, len(ms), w.capHits)
	if senders := w.senders[chain]; senders != nil {
		w.stats.reached(chain, MemoryFanIn, senders.Reach())
	}
	if infer := w.infer[chain]; infer != nil {
		w.stats.reached(chain, MemoryDeposits, infer.Reach())
	}
	if len(alerts) == 0 {
		return nil
	}
	_, err = w.pipeline.Exec(ctx, alerts...)
	return err
}

// judge evaluates a batch of (not removed) movements in order and returns what they change
// and the alerts they raise (with those of movements applied before, to deliver again).
// A movement whose bases hold nothing and are on no list is not evaluated: the rules would
// decide nothing (rules.AppendBases); nearly every movement is such.
func (w *Worker) judge(ctx context.Context, chain string, ms []chains.Movement) (
	[]taint.Effect, []alerting.Alert, error) {
	cc, err := w.lookup(ctx, chain, ms)
	if err != nil {
		return nil, nil, err
	}
	first := 0 // the first movement not applied before
	var alerts []alerting.Alert
	if cc.recheck {
		if first, alerts, err = w.skipApplied(ctx, chain, ms); err != nil {
			return nil, nil, err
		}
		cc.recheck = first == len(ms)
		if cc, err = w.learnApplied(ctx, chain, cc, ms, first); err != nil {
			return nil, nil, err
		}
	}
	delete(w.unjudged, chain) // the learners learn ms now
	w.capHits = 0
	infer, senders := w.infer[chain], w.senders[chain]
	tr := w.tried(chain, ms)
	if infer != nil {
		infer.Prefetch(ms[max(first, tr.learnt):])
	}
	if senders != nil {
		senders.Prefetch(ms[max(first, tr.learnt):])
	}
	v := w.viewOf(ctx, chain, cc)
	// The effects, and their taints laid end to end in w.taints, are the next batch's to
	// reuse: nothing keeps them past ApplyAll (the cache copies what it keeps).
	w.taints, w.effects = w.taints[:0], w.effects[:0]
	d := &w.decision
	for i := first; i < len(ms); i++ {
		m := &ms[i]
		w.judging(v, ms, i)
		if v.quiet() {
			d.Findings, d.Taints, d.Capped = d.Findings[:0], d.Taints[:0], d.Capped[:0]
		} else {
			rules.EvaluateTo(d, w.rules, m, v)
			if v.lookErr != nil { // judged again, the batch asks again
				return nil, nil, fmt.Errorf("block %d, movement %s: %w", m.Block.Number,
					m.Key(), v.lookErr)
			}
		}
		if i < tr.learnt { // given before the write failed: inferred as then
			if nt, ok := tr.inference(i); ok {
				d.Taints = append(d.Taints, nt)
			}
		} else {
			if infer != nil {
				if nt, ok := infer.Observe(m, v); ok {
					d.Taints = append(d.Taints, nt)
					tr.inferred = append(tr.inferred, triedInference{i, nt})
				}
			}
			if senders != nil {
				senders.Observe(m, v)
			}
			tr.learnt = i + 1
		}
		for _, c := range d.Capped {
			w.capped(chain, c)
		}
		if len(d.Taints) == 0 && len(d.Findings) == 0 {
			continue
		}
		at := len(w.taints)
		w.taints = append(w.taints, d.Taints...)
		e := taint.Effect{Key: m.Key(), Taints: w.taints[at:len(w.taints):len(w.taints)]}
		for j := range e.Taints {
			v.add(&e.Taints[j]) // seen by the rest of the batch
		}
		if len(d.Findings) > 0 {
			as := make([]alerting.Alert, 0, len(d.Findings))
			for j := range d.Findings {
				as = append(as, w.alert(&d.Findings[j]))
			}
			if e.Alerts, err = json.Marshal(as); err != nil {
				return nil, nil, err
			}
			alerts = append(alerts, as...)
		}
		w.effects = append(w.effects, e)
	}
	return w.effects, alerts, nil
}

// lookup finds the bases of ms (w.bases; movement i's end at w.ends[i]) and makes sure the
// cache knows what each holds (w.flags), for viewOf and judging. A movement's transaction
// that the rules read only if its sender is listed (rules.Bases.Append) is looked up only then:
// otherwise it counts as holding nothing.
func (w *Worker) lookup(ctx context.Context, chain string, ms []chains.Movement) (
	*chainCache, error) {
	w.bases, w.ends, w.lazy = w.bases[:0], w.ends[:0], w.lazy[:0]
	for i := range ms {
		start, lazy := len(w.bases), false
		if w.bases, lazy = w.basesOf.Append(w.bases, &ms[i]); lazy {
			w.lazy = append(w.lazy, lazyBase{at: len(w.bases) - 1, guard: start})
		}
		w.ends = append(w.ends, len(w.bases))
	}
	cc, flags, err := w.cache.lookup(ctx, w.store, chain, w.bases, w.lazy, w.flags[:0])
	w.flags = flags
	return cc, err
}

// viewOf readies the worker's view for the batch whose bases lookup looked up.
func (w *Worker) viewOf(ctx context.Context, chain string, cc *chainCache) *view {
	v := &w.view
	v.reset(ctx, w.lists, chain, cc, w.cache.prefixes, w.infer[chain] != nil,
		w.senders[chain], w.opts.LookBack[chain])
	for i, f := range w.flags {
		if f&baseHeld != 0 {
			v.held[w.bases[i]] = true
		}
	}
	return v
}

// judging points v at ms[i], of the batch whose bases lookup looked up.
func (w *Worker) judging(v *view, ms []chains.Movement, i int) {
	start := 0
	if i > 0 {
		start = w.ends[i-1]
	}
	v.judging(&ms[i], w.bases[start:w.ends[i]], w.flags[start:w.ends[i]],
		w.cache.hashes[start:w.ends[i]])
}

// learnApplied gives chain's learners ms[:first], movements that skipApplied found applied
// before, when they are new to them, and returns the cache cc as lookup left it for ms.
// Those movements are not judged again, but a worker that died before it acknowledged
// them left them pending, and the worker that takes the chain over reads back only what
// was acknowledged (warm): its learners, started afresh, must learn them, or a deposit
// address's arrival among them is missing when the address forwards it (a kill test with
// reorgs missed the alert on the source's payment to the address so). Learners that judged
// a batch since they started did learn them: the batch being judged again is the one
// whose write failed, and they were given all of it before the write (an arrival given
// twice may count twice).
func (w *Worker) learnApplied(ctx context.Context, chain string, cc *chainCache,
	ms []chains.Movement, first int) (*chainCache, error) {
	if first == 0 || !w.unjudged[chain] || w.infer[chain] == nil && w.senders[chain] == nil {
		return cc, nil
	}
	if err := w.learn(ctx, chain, ms[:first], appliedReadBack(ms[:first])); err != nil {
		return nil, err
	}
	return w.lookup(ctx, chain, ms) // for the rest: learn looked up the skipped only
}

// skipApplied finds the movements of ms that the store has applied already: entries
// redelivered after a failure or a take-over, whose effects went through before their
// acknowledgement did not. Judging them again would count their value twice (haircut and
// FIFO move value out of the sender). Effects are applied in stream order, so they are a
// prefix of ms: it returns the index of the first movement after the last applied one, and
// the alerts the applied ones raised, to be delivered again (the dedup stage drops those
// that were delivered).
func (w *Worker) skipApplied(ctx context.Context, chain string, ms []chains.Movement) (
	int, []alerting.Alert, error) {
	keys := make([]string, len(ms))
	for i := range ms {
		keys[i] = ms[i].Key()
	}
	rec, err := w.store.Recorded(ctx, chain, keys...)
	if err != nil || len(rec) == 0 {
		return 0, nil, err
	}
	last := -1
	var alerts []alerting.Alert
	for i, k := range keys {
		enc, ok := rec[k]
		if !ok {
			continue
		}
		last = i
		if len(enc) == 0 {
			continue
		}
		var as []alerting.Alert
		if err := json.Unmarshal(enc, &as); err != nil {
			return 0, nil, fmt.Errorf("recorded alerts of %s: %w", k, err)
		}
		alerts = append(alerts, as...)
	}
	w.log.Info("skipping movements applied before", zap.String("chain", chain),
		zap.Int("skipped", last+1), zap.Int("alerts", len(alerts)))
	return last + 1, alerts, nil
}

// capped notes that a rule's cap on tracked addresses kept funds of a source from being
// followed further: counted (with the batch, once its write goes through: a batch judged
// again after a failed write counts once), and logged once per source and model.
func (w *Worker) capped(chain, counter string) {
	w.capHits++
	if w.cappedSeen[chain+"/"+counter] {
		return
	}
	w.cappedSeen[chain+"/"+counter] = true
	model, root, _ := strings.Cut(counter, "|")
	w.log.Warn("tracked-address cap reached: funds of this source are no longer followed "+
		"to new addresses", zap.String("chain", chain), zap.String("source", root),
		zap.String("model", model))
}

// handle evaluates one movement, or undoes one that a reorg removed.
func (w *Worker) handle(ctx context.Context, m *chains.Movement) error {
	if m.Removed {
		return w.retract(ctx, m)
	}
	return w.handleBatch(ctx, m.Chain, []chains.Movement{*m})
}

// retract undoes what a movement that a reorg orphaned did: its taint, and its alerts,
// which are sent again as retracted.
func (w *Worker) retract(ctx context.Context, m *chains.Movement) error {
	w.cache.invalidate(m.Chain) // the taint it deletes; the bases it restores are in the set
	if infer := w.infer[m.Chain]; infer != nil {
		infer.Forget(m)
	}
	if senders := w.senders[m.Chain]; senders != nil {
		senders.Forget(m)
	}
	enc, err := w.store.Undo(ctx, m.Chain, m.Key())
	if err != nil || enc == nil {
		return err
	}
	var alerts []alerting.Alert
	if err := json.Unmarshal(enc, &alerts); err != nil {
		return fmt.Errorf("recorded alerts of %s: %w", m.Key(), err)
	}
	for i := range alerts {
		alerts[i].State = alerting.StateRetracted
	}
	if _, err := w.pipeline.Exec(ctx, alerts...); err != nil {
		return err
	}
	return w.store.Forget(ctx, m.Chain, m.Key())
}
