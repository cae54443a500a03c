package deposit

// index finds a table's live receipts by the hash of their slot: an open-addressing table
// with linear probing, 8 bytes an entry, no pointers for the garbage collector to scan, one
// cache line read for most lookups. An entry packs a tag, the hash's top 40 bits (never 0:
// its top bit is set), and the low seqBits bits of the receipt's sequence number, which
// the queue, holding fewer than 2^seqBits receipts, makes whole again (table.seqOf). A tag
// is not the slot: the table checks the receipt that an entry names, so two slots with one
// tag are two entries. Entries deleted are closed up (backward shift), so no tombstones
// lengthen the probes.
type index struct {
	entries []uint64 // 0: empty; len a power of 2, at most 3/4 full
	n       int
}

const (
	seqBits = 24
	seqMask = 1<<seqBits - 1
	// MaxMaxReceipts bounds Options.MaxReceipts: the queue holds up to twice as many
	// receipts, live and dead, which seqBits must number.
	MaxMaxReceipts = 1 << (seqBits - 2)

	indexMinEntries = 1 << 10
)

func newIndex() *index { return &index{entries: make([]uint64, indexMinEntries)} }

// tagOf is the tag of a slot hashed h.
func tagOf(h uint64) uint64 { return h>>seqBits | 1<<(63-seqBits) }

// entry is what the index holds for the receipt of sequence number seq and tag.
func entry(tag, seq uint64) uint64 { return tag<<seqBits | seq&seqMask }

// home is where the probe for tag starts.
func (x *index) home(tag uint64) int { return int(tag & uint64(len(x.entries)-1)) }

// next is the entry after i, the last followed by the first.
func (x *index) next(i int) int { return (i + 1) & (len(x.entries) - 1) }

// insert puts e at position i, the empty entry where the probe for e's tag ended; the
// index grows first if it would be more than 3/4 full.
func (x *index) insert(i int, e uint64) {
	if 4*(x.n+1) > 3*len(x.entries) {
		x.grow()
		i = x.free(e >> seqBits)
	}
	x.entries[i] = e
	x.n++
}

// free is the empty entry where a probe for tag ends.
func (x *index) free(tag uint64) int {
	i := x.home(tag)
	for x.entries[i] != 0 {
		i = x.next(i)
	}
	return i
}

func (x *index) grow() {
	old := x.entries
	x.entries = make([]uint64, 2*len(old))
	for _, e := range old {
		if e != 0 {
			x.entries[x.free(e>>seqBits)] = e
		}
	}
}

// find is the position of e, which the index must hold: a probe that reaches an empty
// entry first panics (the table broke its own invariant), where it would loop forever.
func (x *index) find(e uint64) int {
	i := x.home(e >> seqBits)
	for x.entries[i] != e {
		if x.entries[i] == 0 {
			panic("deposit: a live receipt's index entry is missing")
		}
		i = x.next(i)
	}
	return i
}

// delete empties position i and moves up the entries after it whose probe passed it.
func (x *index) delete(i int) {
	for j := x.next(i); x.entries[j] != 0; j = x.next(j) {
		e := x.entries[j]
		// e may fill i unless its home lies cyclically in (i, j].
		if k := x.home(e >> seqBits); i < j && (k <= i || k > j) || j < i && k <= i && k > j {
			x.entries[i], i = e, j
		}
	}
	x.entries[i] = 0
	x.n--
}
