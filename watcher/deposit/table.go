package deposit

import "hash/maphash"

// chunkSize is how many receipts a table allocates at a time.
const chunkSize = 4096

// table holds the receipts: a queue in the order they last took an arrival, oldest first,
// kept in chunks of chunkSize, and an index of the live ones by the hash of their slot.
// The queue's chunks are reused as the oldest receipts leave, so a table in steady state
// allocates nothing.
type table struct {
	hashOf func(slot) uint64 // a field, so that a test can make slots collide
	index  *index
	chunks []*[chunkSize]receipt
	spare  *[chunkSize]receipt // a chunk the head left, for the tail's next
	base   uint64              // the sequence number of chunks[0][0]
	head   uint64              // the oldest receipt's sequence number, live or not
	tail   uint64              // the next receipt's
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
		index: newIndex()}
}

// seqOf is the sequence number of the live receipt that an index entry names.
func (t *table) seqOf(e uint64) uint64 { return t.head + (e-t.head)&seqMask }

// at is the receipt with sequence number seq, which must be in [head, tail).
func (t *table) at(seq uint64) *receipt {
	i := seq - t.base
	return &t.chunks[i/chunkSize][i%chunkSize]
}

// allocated says whether the queue's chunks hold room for sequence number seq (at least
// head).
func (t *table) allocated(seq uint64) bool {
	return seq-t.base < uint64(len(t.chunks))*chunkSize
}

// get returns the live receipt of s, nil if it has none, and where s is in the index or
// would go, for a push that follows before the table changes.
func (t *table) get(s slot) (*receipt, ref) { return t.lookup(s, t.hashOf(s)) }

// lookup is get of s, whose hash is h.
func (t *table) lookup(s slot, h uint64) (*receipt, ref) {
	tag := tagOf(h)
	x := t.index
	i := x.home(tag)
	for e := x.entries[i]; e != 0; e = x.entries[i] {
		if e>>seqBits == tag {
			if r := t.at(t.seqOf(e)); r.slot == s {
				return r, ref{tag, i}
			}
		}
		i = x.next(i)
	}
	return nil, ref{tag, i}
}

// push makes the receipt of s, which get found at at, the newest: r, the slot's live
// receipt, moved to the tail; or, with r nil (the slot has none), a new empty receipt
// there. It returns the receipt at the tail, whose pointer stays valid until the table
// next forgets its oldest.
func (t *table) push(s slot, at ref, r *receipt) *receipt {
	if t.tail-t.base == uint64(len(t.chunks))*chunkSize {
		c := t.spare
		if t.spare = nil; c == nil {
			c = new([chunkSize]receipt)
		}
		t.chunks = append(t.chunks, c)
	}
	seq := t.tail
	t.tail++
	n := t.at(seq)
	if r == nil {
		t.index.insert(at.pos, entry(at.tag, seq))
		n.reset(s, at.tag)
		t.live++
	} else {
		t.index.entries[at.pos] = entry(at.tag, seq)
		*n, *r = *r, *n // the amounts' storage moves with them: nothing is shared
		r.dead = true
	}
	n.seq = seq
	return n
}

// oldest returns the oldest live receipt; nil if there is none. Dead receipts before it
// leave the queue.
func (t *table) oldest() *receipt {
	for t.head < t.tail {
		if r := t.at(t.head); !r.dead {
			return r
		}
		t.advance()
	}
	return nil
}

// trim forgets the oldest live receipts while more than max are live or the queue holds
// more than 2×max (the dead ones that receipts which took arrivals again left behind).
func (t *table) trim(max int) {
	for r := t.oldest(); r != nil && (t.live > max || t.span() > 2*max); r = t.oldest() {
		t.remove(r)
		t.advance()
	}
}

// prune forgets the live receipts whose last arrival was before limit (Unix seconds).
func (t *table) prune(limit int64) {
	for r := t.oldest(); r != nil && r.when < limit; r = t.oldest() {
		t.remove(r)
		t.advance()
	}
}

// remove forgets the live receipt r.
func (t *table) remove(r *receipt) {
	t.index.delete(t.index.find(entry(r.tag, r.seq)))
	r.dead = true
	t.live--
}

// advance moves the head past a dead receipt; a chunk it leaves becomes the spare.
func (t *table) advance() {
	t.head++
	if t.head-t.base == chunkSize {
		t.spare = t.chunks[0]
		t.chunks[0] = nil
		t.chunks = t.chunks[1:]
		t.base += chunkSize
	}
}

// span is how many receipts the queue holds, live or dead.
func (t *table) span() int { return int(t.tail - t.head) }

// reset readies r, reused, for the first arrival at s, whose tag is tag; its amounts keep
// their storage.
func (r *receipt) reset(s slot, tag uint64) {
	last, sum := r.last, r.sum
	*r = receipt{slot: s, tag: tag, last: last, sum: sum}
	r.last.SetInt64(0)
	r.sum.SetInt64(0)
}
