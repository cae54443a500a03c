package deposit

import (
	"hash/maphash"

	"github.com/flowwatch/flowwatch/internal/seqindex"
)

// MaxMaxReceipts bounds Options.MaxReceipts: the queue holds up to twice as many
// receipts, live and dead, which the index must number.
const MaxMaxReceipts = 1 << (seqindex.SeqBits - 2)

// table holds the receipts: a queue in the order they last took an arrival, oldest first,
// and an index of the live ones by the hash of their slot. A table in steady state
// allocates nothing.
type table struct {
	hashOf func(slot) uint64 // a field, so that a test can make slots collide
	index  *seqindex.Index
	queue  seqindex.Queue[receipt]
	live   int
}

// slot is an address's holding of one asset.
type slot struct{ addr, asset string }

// ref is where a slot is in the index, or would go: its tag and a position.
type ref struct {
	tag uint64
	pos int
}

func newTable() *table {
	seed := maphash.MakeSeed()
	return &table{hashOf: func(s slot) uint64 { return maphash.Comparable(seed, s) },
		index: seqindex.New()}
}

// seqOf is the sequence number of the live receipt that an index entry names.
func (t *table) seqOf(e uint64) uint64 { return seqindex.Seq(t.queue.Head(), e) }

// get returns the live receipt of s, nil if it has none, and where s is in the index or
// would go, for a push that follows before the table changes.
func (t *table) get(s slot) (*receipt, ref) { return t.lookup(s, t.hashOf(s)) }

// lookup is get of s, whose hash is h.
func (t *table) lookup(s slot, h uint64) (*receipt, ref) {
	tag := seqindex.Tag(h)
	x := t.index
	i := x.Home(tag)
	for e := x.At(i); e != 0; e = x.At(i) {
		if seqindex.TagOf(e) == tag {
			if r := t.queue.At(t.seqOf(e)); r.slot == s {
				return r, ref{tag, i}
			}
		}
		i = x.Next(i)
	}
	return nil, ref{tag, i}
}

// push makes the receipt of s, which get found at at, the newest: r, the slot's live
// receipt, moved to the tail; or, with r nil (the slot has none), a new empty receipt
// there. It returns the receipt at the tail, whose pointer stays valid until the table
// next forgets its oldest.
func (t *table) push(s slot, at ref, r *receipt) *receipt {
	n, seq := t.queue.Push()
	if r == nil {
		t.index.Insert(at.pos, seqindex.Entry(at.tag, seq))
		n.reset(s, at.tag)
		t.live++
	} else {
		t.index.Set(at.pos, seqindex.Entry(at.tag, seq))
		*n, *r = *r, *n // the amounts' storage moves with them: nothing is shared
		r.dead = true
	}
	n.seq = seq
	return n
}

// oldest returns the oldest live receipt; nil if there is none. Dead receipts before it
// leave the queue.
func (t *table) oldest() *receipt {
	for t.queue.Len() > 0 {
		if r := t.queue.At(t.queue.Head()); !r.dead {
			return r
		}
		t.queue.Pop()
	}
	return nil
}

// trim forgets the oldest live receipts while more than max are live or the queue holds
// more than 2×max (the dead ones that receipts which took arrivals again left behind).
func (t *table) trim(max int) {
	for r := t.oldest(); r != nil && (t.live > max || t.queue.Len() > 2*max); r = t.oldest() {
		t.remove(r)
		t.queue.Pop()
	}
}

// prune forgets the live receipts whose last arrival was before limit (Unix seconds).
func (t *table) prune(limit int64) {
	for r := t.oldest(); r != nil && r.when < limit; r = t.oldest() {
		t.remove(r)
		t.queue.Pop()
	}
}

// remove forgets the live receipt r.
func (t *table) remove(r *receipt) {
	t.index.Delete(t.index.Find(seqindex.Entry(r.tag, r.seq)))
	r.dead = true
	t.live--
}

// reset readies r, reused, for the first arrival at s, whose tag is tag; its amounts keep
// their storage.
func (r *receipt) reset(s slot, tag uint64) {
	last, sum := r.last, r.sum
	*r = receipt{slot: s, tag: tag, last: last, sum: sum}
	r.last.SetInt64(0)
	r.sum.SetInt64(0)
}
