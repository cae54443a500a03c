package watcher

// How a worker that comes to own a chain readies its learners (the deposit-address
// inferrer and the fan-in tracker): from the movements judged before it, which the stream
// still holds.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/queue"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// history reads back the entries of a chain's stream that were judged already, newest
// first (queue.Redis.Judged). queue.Memory, which keeps no entry once acknowledged, has
// none to read.
type history interface {
	Judged(ctx context.Context, chain, before string, count int) ([]queue.Message, error)
}

var _ history = (*queue.Redis)(nil)

// warm gives chain's learners, new (learnAfresh), the movements judged before the first
// entry that the worker will judge, in stream order, as far back as the stream holds them
// (it keeps acknowledged entries until trimmed) and the learners can use: at most as many
// entries as would carry the larger of their capacities at queue.MaxEntryPayloads
// movements each. So a restart, a take-over or a lost ownership leaves no hole in what
// they remember of the chain; a reorg's removed movements, which the stream holds too,
// are forgotten again in order.
//
// The learners only learn: rules are not evaluated, nothing is written. They learn with
// the view of now, but for the inferences that movements not read back yet made
// (readBack), as the worker that judged each movement saw it. What they infer
// again was stored when the movement was judged; a deposit address that the learner
// judging it then did not infer (it lacked what arrived before) is not inferred now, but
// by the address's next forward. Entries and movements that cannot be decoded were
// reported when judged: they are counted, not logged again.
//
// On an error the learners start afresh again, so that a retry does not teach them a
// movement twice.
func (w *Worker) warm(ctx context.Context, chain string) error {
	if !w.cold[chain] {
		return nil
	}
	infer, senders := w.infer[chain], w.senders[chain]
	h, ok := w.consumer.(history)
	if !ok || infer == nil && senders == nil {
		delete(w.cold, chain)
		return nil
	}
	defer w.keepalive(ctx, chain)()
	began := time.Now()
	want := 0
	if infer != nil {
		want = infer.Capacity()
	}
	if senders != nil {
		want = max(want, senders.Capacity())
	}
	want = (want + queue.MaxEntryPayloads - 1) / queue.MaxEntryPayloads // in entries
	var pages [][]queue.Message
	for n, before := 0, ""; n < want; {
		msgs, err := h.Judged(ctx, chain, before, min(w.opts.Batch, want-n))
		if err != nil {
			return w.warmFailed(chain, err)
		}
		if len(msgs) == 0 {
			break
		}
		pages = append(pages, msgs)
		n += len(msgs)
		before = msgs[len(msgs)-1].ID
	}
	var st warmStats
	for i := len(pages) - 1; i >= 0; i-- {
		msgs := pages[i]
		slices.Reverse(msgs) // oldest first
		if err := w.learnEntries(ctx, chain, msgs, &st); err != nil {
			return w.warmFailed(chain, err)
		}
		pages[i] = nil
	}
	delete(w.cold, chain)
	if st.entries > 0 {
		w.log.Info("learners read the movements judged before", zap.String("chain", chain),
			zap.Int("entries", st.entries), zap.Int("movements", st.movements),
			zap.Int("undecodable", st.undecodable), zap.Duration("took", time.Since(began)))
	}
	return nil
}

// warmStats counts what warm read.
type warmStats struct {
	entries, movements, undecodable int
	readBack
}

// readBack is where learners reading back the movements judged before are, for the view
// they learn with: it holds the stored inferences of now, and one made by a movement not
// read back yet did not exist when the movements before it were judged. A learner that
// saw it there would judge them otherwise than the worker that judged them: an arrival at
// an address labelled is not remembered, so the forward that showed the address a deposit
// address, if a reorg orphans it and the new branch mines it again, would find nothing
// arrived and not infer it again (a soak run with reorgs found this: the source's payment
// to the address then went unnoticed).
type readBack struct {
	started bool
	from    uint64 // the block of the first movement read back
	// net counts, per transfer read back to an address not quiet (an inference's forward
	// is one: its receiver is a labelled exchange), its publications less its removals.
	net map[txPos]int
	// made are the inferences the read-back made again, by the address inferred: the
	// store no longer holds one that a removal read back later undid, but the movements
	// between saw it.
	made map[string]rules.Taint
	// only, when set, are the movements read back (see appliedReadBack): an inference made
	// by one of them is later until it is read, and every other is earlier, whatever its
	// block.
	only map[txPos]bool
}

// appliedReadBack is a readBack for learning ms, movements applied before that a worker
// taking a chain over skips (learnApplied): it follows the read-back of the entries
// judged before them, and the inferences their own forwards made are all that is later.
func appliedReadBack(ms []chains.Movement) *readBack {
	r := &readBack{started: true, net: map[txPos]int{}, made: map[string]rules.Taint{},
		only: map[txPos]bool{}} // from is not read: only says what is later
	for i := range ms {
		r.only[txPos{ms[i].Tx, ms[i].Position}] = true
	}
	return r
}

// inferred returns the inference about the address a that the read-back made and has not
// read the removal of.
func (r *readBack) inferred(a string) (rules.Taint, bool) {
	t, ok := r.made[a]
	if !ok || r.later(&t) {
		return rules.Taint{}, false
	}
	return t, true
}

// txPos names a movement of the chain read back.
type txPos struct{ tx, pos string }

// later says whether the inference t, stored, was made by a movement that the read-back
// has not reached (or whose removal it has read since): one of a block read back or after
// (the forward's, the last hop of t's path) that is not counted as published.
func (r *readBack) later(t *rules.Taint) bool {
	n := len(t.Path)
	if n == 0 {
		return false
	}
	fwd := &t.Path[n-1]
	k := txPos{fwd.Tx, fwd.Position}
	if r.only != nil {
		return r.only[k] && r.net[k] <= 0
	}
	return fwd.Block >= r.from && r.net[k] <= 0
}

// start notes m, the first movement read back if none was before.
func (r *readBack) start(m *chains.Movement) {
	if !r.started {
		r.started, r.from, r.net = true, m.Block.Number, map[txPos]int{}
		r.made = map[string]rules.Taint{}
	}
}

// published counts m, read back.
func (r *readBack) published(m *chains.Movement) { r.net[txPos{m.Tx, m.Position}]++ }

// removed takes back a publication of m, counted, whose removal was read back.
func (r *readBack) removed(m *chains.Movement) {
	if k := (txPos{m.Tx, m.Position}); r.net[k] > 0 {
		r.net[k]--
	}
}

// warmFailed starts chain's learners afresh after warm failed with err, and returns err.
func (w *Worker) warmFailed(chain string, err error) error {
	if lerr := w.learnAfresh(chain); lerr != nil {
		return lerr
	}
	return fmt.Errorf("learners of %s, from the movements judged before: %w", chain, err)
}

// learnEntries gives chain's learners the movements of msgs, in order: runs of entries
// without removed movements as one batch, an entry with a reorg's removed movements one
// movement at a time.
func (w *Worker) learnEntries(ctx context.Context, chain string, msgs []queue.Message,
	st *warmStats) error {
	var batch []chains.Movement
	for _, msg := range msgs {
		st.entries++
		if msg.Err != nil {
			st.undecodable++
			continue
		}
		ms, removed, errs := movementsOf(msg)
		for _, err := range errs {
			if err != nil {
				st.undecodable++
			}
		}
		st.movements += len(ms)
		if !removed {
			batch = append(batch, ms...)
			continue
		}
		if err := w.learn(ctx, chain, batch, &st.readBack); err != nil {
			return err
		}
		batch = batch[:0]
		for i := range ms {
			if !ms[i].Removed {
				if err := w.learn(ctx, chain, ms[i:i+1], &st.readBack); err != nil {
					return err
				}
				continue
			}
			if infer := w.infer[chain]; infer != nil {
				infer.Forget(&ms[i])
			}
			if senders := w.senders[chain]; senders != nil {
				senders.Forget(&ms[i])
			}
			st.start(&ms[i])
			st.removed(&ms[i])
		}
	}
	return w.learn(ctx, chain, batch, &st.readBack)
}

// learn gives chain's learners ms, movements judged before, as judge gave them: with the
// view of what their addresses hold and the lists say, and of the inferences made before
// each (see readBack), which it counts read.
func (w *Worker) learn(ctx context.Context, chain string, ms []chains.Movement,
	rb *readBack) error {
	if len(ms) == 0 {
		return nil
	}
	cc, err := w.lookup(ctx, chain, ms)
	if err != nil {
		return err
	}
	infer, senders := w.infer[chain], w.senders[chain]
	if infer != nil {
		infer.Prefetch(ms)
	}
	if senders != nil {
		senders.Prefetch(ms)
	}
	v := w.viewOf(ctx, chain, cc)
	v.readBack = rb
	rb.start(&ms[0])
	for i := range ms {
		w.judging(v, ms, i)
		if infer != nil {
			// Stored when the movement was judged; seen by the movements read back after
			// it, as it was then, even if a removal read back later undid it.
			if nt, ok := infer.Observe(&ms[i], v); ok {
				_, a := rules.SplitKey(nt.Address)
				rb.made[a] = nt.Taint
			}
		}
		if senders != nil {
			senders.Observe(&ms[i], v)
		}
		if _, to, ok := ms[i].Transfer(); ok && !v.Quiet(to.Address) {
			rb.published(&ms[i])
		}
	}
	return nil
}
