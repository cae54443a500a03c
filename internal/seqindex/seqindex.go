package seqindex

// Index finds records by the hash of their key. See the package documentation.
type Index struct {
	entries []uint64 // 0: empty; len a power of 2, at most 3/4 full
	n       int
}

const (
	// SeqBits is how many low bits of a sequence number an entry keeps: a queue must hold
	// fewer than 2^SeqBits records at a time.
	SeqBits = 24
	seqMask = 1<<SeqBits - 1

	minEntries = 1 << 10
)

// New returns an empty Index.
func New() *Index { return &Index{entries: make([]uint64, minEntries)} }

// Tag is the tag of a key hashed h.
func Tag(h uint64) uint64 { return h>>SeqBits | 1<<(63-SeqBits) }

// Entry is what the Index holds for the record of sequence number seq, whose key's tag is
// tag.
func Entry(tag, seq uint64) uint64 { return tag<<SeqBits | seq&seqMask }

// TagOf is the tag of entry e.
func TagOf(e uint64) uint64 { return e >> SeqBits }

// Seq is the sequence number of the record that entry e names, in a queue whose oldest
// record's number is head.
func Seq(head, e uint64) uint64 { return head + (e-head)&seqMask }

// Home is where the probe for tag starts.
func (x *Index) Home(tag uint64) int { return int(tag & uint64(len(x.entries)-1)) }

// Next is the entry after i, the last followed by the first.
func (x *Index) Next(i int) int { return (i + 1) & (len(x.entries) - 1) }

// At is the entry at position i; 0 if it is empty.
func (x *Index) At(i int) uint64 { return x.entries[i] }

// Set replaces the entry at position i, which must hold one of the same tag (its record
// moved in the queue).
func (x *Index) Set(i int, e uint64) { x.entries[i] = e }

// Len is how many entries the Index holds.
func (x *Index) Len() int { return x.n }

// Insert puts e at position i, the empty entry where the probe for e's tag ended; the
// index grows first if it would be more than 3/4 full.
func (x *Index) Insert(i int, e uint64) {
	if 4*(x.n+1) > 3*len(x.entries) {
		x.grow()
		i = x.free(TagOf(e))
	}
	x.entries[i] = e
	x.n++
}

// free is the empty entry where a probe for tag ends.
func (x *Index) free(tag uint64) int {
	i := x.Home(tag)
	for x.entries[i] != 0 {
		i = x.Next(i)
	}
	return i
}

func (x *Index) grow() {
	old := x.entries
	x.entries = make([]uint64, 2*len(old))
	for _, e := range old {
		if e != 0 {
			x.entries[x.free(TagOf(e))] = e
		}
	}
}

// Find is the position of e, which the Index must hold: a probe that reaches an empty
// entry first panics (the caller broke its own invariant), where it would loop forever.
func (x *Index) Find(e uint64) int {
	i := x.Home(TagOf(e))
	for x.entries[i] != e {
		if x.entries[i] == 0 {
			panic("seqindex: a live record's entry is missing")
		}
		i = x.Next(i)
	}
	return i
}

// Delete empties position i and moves up the entries after it whose probe passed it.
func (x *Index) Delete(i int) {
	for j := x.Next(i); x.entries[j] != 0; j = x.Next(j) {
		e := x.entries[j]
		// e may fill i unless its home lies cyclically in (i, j].
		if k := x.Home(TagOf(e)); i < j && (k <= i || k > j) || j < i && k <= i && k > j {
			x.entries[i], i = e, j
		}
	}
	x.entries[i] = 0
	x.n--
}
