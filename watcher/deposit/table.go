package deposit

import "hash/maphash"

// chunkSize is how many receipts a table allocates at a time.
const chunkSize = 4096

// table holds the receipts: a queue in the order they last took an arrival, oldest first,
// kept in chunks of chunkSize, and an index from a 64-bit hash of each live receipt's slot
// to its sequence number in the queue. The index holds no pointers (the garbage collector
// does not scan it) and is read with one hash of the slot; the queue's chunks are reused
// as the oldest receipts leave, so a table in steady state allocates nothing.
//
// Two slots whose hashes collide (about once in 10⁸ tables of 2¹⁸ receipts) share an
// entry: the one that took it last is remembered, the other forgotten, as if it had left
// the window.
type table struct {
	seed   maphash.Seed
	index  map[uint64]uint64 // hash of a live receipt's slot → its sequence number
	chunks []*[chunkSize]receipt
	spare  *[chunkSize]receipt // a chunk the head left, for the tail's next
	base   uint64              // the sequence number of chunks[0][0]
	head   uint64              // the oldest receipt's sequence number, live or not
	tail   uint64              // the next receipt's
	live   int
}

// slot is an address's holding of one asset.
type slot struct{ addr, asset string }

func newTable() *table {
	return &table{seed: maphash.MakeSeed(), index: map[uint64]uint64{}}
}

func (t *table) hash(s slot) uint64 { return maphash.Comparable(t.seed, s) }

// at is the receipt with sequence number seq, which must be in [head, tail).
func (t *table) at(seq uint64) *receipt {
	i := seq - t.base
	return &t.chunks[i/chunkSize][i%chunkSize]
}

// get returns the live receipt of s and the hash of s; nil if it has none.
func (t *table) get(s slot) (*receipt, uint64) {
	h := t.hash(s)
	seq, ok := t.index[h]
	if !ok {
		return nil, h
	}
	if r := t.at(seq); r.slot == s {
		return r, h
	}
	return nil, h
}

// push makes the receipt of the slot hashed h the newest: r, a live receipt of that slot,
// moved to the tail; or, with r nil, a new empty receipt there, which replaces any the
// slot had. It returns the receipt at the tail, whose pointer stays valid until the table
// next forgets its oldest.
func (t *table) push(s slot, h uint64, r *receipt) *receipt {
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
		if old, ok := t.index[h]; ok { // the slot's own, or a colliding slot's: forgotten
			t.at(old).dead = true
			t.live--
		}
		n.reset(s, h)
		t.live++
	} else {
		*n, *r = *r, *n // the amounts' storage moves with them: nothing is shared
		r.dead = true
	}
	t.index[h] = seq
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
	delete(t.index, r.hash)
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

// reset readies r, reused, for the first arrival at s, hashed h; its amounts keep their
// storage.
func (r *receipt) reset(s slot, h uint64) {
	last, sum := r.last, r.sum
	*r = receipt{slot: s, hash: h, last: last, sum: sum}
	r.last.SetInt64(0)
	r.sum.SetInt64(0)
}
