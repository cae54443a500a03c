package watcher

// What a worker's learners were given of a batch whose write has not gone through, so that
// the batch judged again gives them nothing twice.

import (
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// tried is what a chain's learners were given of the batch judged last, until its write
// goes through. A batch whose write failed stays pending and is judged again, by the same
// worker, from the same first movement (what is pending is taken first, in order): the
// movements its learners were given then are not given again, and what the inferrer
// inferred of them is used again. The inferrer knows a movement given twice only when it
// is the last arrival at its address: two arrivals at one address given twice counted
// twice, and the forward of their sum then inferred nothing.
type tried struct {
	first    string // the batch's first movement's key; "": none judged since the last write
	learnt   int    // how many of its movements, from the first, the learners were given
	inferred []triedInference
}

// triedInference is what the inferrer inferred of the batch's movement at.
type triedInference struct {
	at int
	nt rules.NewTaint
}

// tried returns chain's record for ms, the batch about to be judged: the one kept if ms is
// the batch judged last, judged again; else a new one.
func (w *Worker) tried(chain string, ms []chains.Movement) *tried {
	t := w.triedBatch[chain]
	if t == nil {
		t = &tried{}
		w.triedBatch[chain] = t
	}
	k := "" // a batch whose every movement was malformed: judged again, it gives nothing
	if len(ms) > 0 {
		k = ms[0].Key()
	}
	if t.first != k || k == "" {
		t.first, t.learnt, t.inferred = k, 0, t.inferred[:0]
	}
	return t
}

// forgetTried forgets chain's record: the write of its batch went through (nothing of it
// is judged again, see skipApplied, and a batch that starts with the same movement later,
// mined again after a reorg, is another), or the learners started afresh.
func (w *Worker) forgetTried(chain string) {
	if t := w.triedBatch[chain]; t != nil {
		t.first = ""
	}
}

// inference returns what the inferrer inferred of the batch's movement at, when it was
// given it.
func (t *tried) inference(at int) (rules.NewTaint, bool) {
	for _, ti := range t.inferred {
		if ti.at == at {
			return ti.nt, true
		}
	}
	return rules.NewTaint{}, false
}
