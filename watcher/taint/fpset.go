package taint

import "hash/maphash"

// fpSet is a set of strings kept as 64-bit fingerprints in one open-addressing table with
// linear probing that starts at the first slot of a group of 8 (a 64-byte cache line of
// the table, which is page-aligned): 8 bytes a slot, no pointers for the garbage
// collector to scan, one cache line read for most lookups. Two strings with the same
// fingerprint are one member (with 10 million members, a string outside the set is taken
// for a member about once in 2^40 lookups), so a member test may say yes wrongly, never
// no. Not safe for concurrent use: Index guards it.
type fpSet struct {
	seed  maphash.Seed
	slots []uint64 // 0: empty
	n     int
}

const fpSetMinSlots = 1 << 10

func newFPSet(seed maphash.Seed) *fpSet {
	return &fpSet{seed: seed, slots: make([]uint64, fpSetMinSlots)}
}

// fingerprint of s; never 0, which marks an empty slot.
func (f *fpSet) fingerprint(s string) uint64 {
	h := maphash.String(f.seed, s)
	if h == 0 {
		h = 1
	}
	return h
}

// has reports whether s is (or may be, see fpSet) a member.
func (f *fpSet) has(s string) bool {
	h := f.fingerprint(s)
	mask := uint64(len(f.slots) - 1)
	for i := h & mask &^ 7; ; i = (i + 1) & mask {
		switch f.slots[i] {
		case h:
			return true
		case 0:
			return false
		}
	}
}

// add makes s a member.
func (f *fpSet) add(s string) {
	if 4*(f.n+1) > 3*len(f.slots) {
		f.grow()
	}
	if f.insert(f.fingerprint(s)) {
		f.n++
	}
}

// insert places h, reporting whether it was new.
func (f *fpSet) insert(h uint64) bool {
	mask := uint64(len(f.slots) - 1)
	for i := h & mask &^ 7; ; i = (i + 1) & mask {
		switch f.slots[i] {
		case h:
			return false
		case 0:
			f.slots[i] = h
			return true
		}
	}
}

func (f *fpSet) grow() {
	old := f.slots
	f.slots = make([]uint64, 2*len(old))
	for _, h := range old {
		if h != 0 {
			f.insert(h)
		}
	}
}

// len is the number of members.
func (f *fpSet) len() int { return f.n }

// bytes is the table's size.
func (f *fpSet) bytes() int { return 8 * len(f.slots) }
