package watcher

import "hash/maphash"

// baseSet is what a chain cache knows of each base it looked up (baseHeld, baseListed),
// kept by a 126-bit fingerprint of the base in one open-addressing table with linear
// probing: 16 bytes a base, no pointers for the garbage collector to scan, and one cache
// line read for most lookups, where a map keyed by the base reads the map's slot and then
// the string it points to. Two bases are taken for one when their fingerprints agree (63
// bits of one hash and 62 of another): about once in 2^124 lookups, as a lookup compares
// with the two or three fingerprints on its probe, far below the rate of memory errors.
// Not safe for concurrent use.
type baseSet struct {
	seed0, seed1 maphash.Seed
	slots        []baseSlot // len a power of 2, at most 3/4 full
	n            int
}

// baseSlot holds a base's fingerprint: a, never 0 (0 marks an empty slot), and b, whose
// two low bits hold the base's flags.
type baseSlot struct{ a, b uint64 }

const (
	baseFlagBits  = 2 // baseHeld, baseListed
	baseFlagMask  = 1<<baseFlagBits - 1
	baseSetMinLen = 1 << 10
)

// baseRef is where find found a base, or where it would go, and its fingerprint.
type baseRef struct {
	i int
	baseSlot
}

func newBaseSet() *baseSet {
	return &baseSet{seed0: maphash.MakeSeed(), seed1: maphash.MakeSeed(),
		slots: make([]baseSlot, baseSetMinLen)}
}

// find looks base up: its flags, whether the set holds it, and a ref for put.
func (s *baseSet) find(base string) (baseRef, uint8, bool) {
	a := maphash.String(s.seed0, base) | 1
	b := maphash.String(s.seed1, base) &^ baseFlagMask
	mask := len(s.slots) - 1
	for i := int(a>>1) & mask; ; i = (i + 1) & mask {
		switch e := s.slots[i]; {
		case e.a == 0:
			return baseRef{i, baseSlot{a, b}}, 0, false
		case e.a == a && e.b&^baseFlagMask == b:
			return baseRef{i, e}, uint8(e.b & baseFlagMask), true
		}
	}
}

// get returns base's flags and whether the set holds it.
func (s *baseSet) get(base string) (uint8, bool) {
	_, f, ok := s.find(base)
	return f, ok
}

// put gives the base that find returned r for the flags f, adding it if the set did not
// hold it. Nothing may change the set between the find and the put.
func (s *baseSet) put(r baseRef, f uint8) {
	e := baseSlot{r.a, r.b&^baseFlagMask | uint64(f)}
	if s.slots[r.i].a != 0 {
		s.slots[r.i] = e
		return
	}
	if 4*(s.n+1) > 3*len(s.slots) {
		s.grow()
		r.i = s.free(e.a)
	}
	s.slots[r.i] = e
	s.n++
}

// or adds the flags f to those of base, adding it if the set does not hold it.
func (s *baseSet) or(base string, f uint8) {
	r, had, _ := s.find(base)
	s.put(r, had|f)
}

// free is the empty slot where a probe for a ends.
func (s *baseSet) free(a uint64) int {
	mask := len(s.slots) - 1
	i := int(a>>1) & mask
	for s.slots[i].a != 0 {
		i = (i + 1) & mask
	}
	return i
}

func (s *baseSet) grow() {
	old := s.slots
	s.slots = make([]baseSlot, 2*len(old))
	for _, e := range old {
		if e.a != 0 {
			s.slots[s.free(e.a)] = e
		}
	}
}

// len is how many bases the set holds.
func (s *baseSet) len() int { return s.n }
