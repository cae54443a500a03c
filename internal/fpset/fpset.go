package fpset

import "hash/maphash"

// FlagBits is how many bits of flags each member has; flags are FlagMask's bits.
const (
	FlagBits = 8
	FlagMask = 1<<FlagBits - 1
)

// group is how many slots a probe starts on at once: 8 slots of 8 bytes, a 64-byte cache
// line of the table (a large slice is page-aligned). minSlots is the smallest table.
const (
	group    = 8
	minSlots = 1 << 10
)

// Set is a set of strings by fingerprint, each member with flags (see the package doc).
type Set struct {
	seed  maphash.Seed
	slots []uint64 // fingerprint | flags; 0: empty
	n     int
	sink  uint64 // what GetAll read ahead, kept so that the reads are not optimized away
}

// New returns an empty set with its own hash seed.
func New() *Set { return &Set{seed: maphash.MakeSeed(), slots: make([]uint64, minSlots)} }

// Hash is s's fingerprint, for Get and Or: its low FlagBits are 0, and it is never 0.
func (s *Set) Hash(str string) uint64 {
	h := maphash.String(s.seed, str) &^ FlagMask
	if h == 0 {
		h = 1 << FlagBits
	}
	return h
}

// Get returns the flags of the member with fingerprint h, and whether there is one.
func (s *Set) Get(h uint64) (uint8, bool) {
	mask := uint64(len(s.slots) - 1)
	for i := h >> FlagBits & mask &^ (group - 1); ; i = (i + 1) & mask {
		switch e := s.slots[i]; {
		case e == 0:
			return 0, false
		case e&^FlagMask == h:
			return uint8(e & FlagMask), true
		}
	}
}

// GetAll appends to flags the flags of the member with each fingerprint of hs (0 for
// none), as Get would, and returns the extended slice; a fingerprint 0, which Hash never
// returns, stands for a string not looked up: its flags are 0. Where the set is larger than
// the cache, it is faster than Get one at a time: it first reads the slots where each
// probe starts, in a loop whose loads do not wait on one another, so that their cache
// misses overlap; the probes then find them in the cache.
func (s *Set) GetAll(hs []uint64, flags []uint8) []uint8 {
	mask := uint64(len(s.slots) - 1)
	var sum uint64
	for _, h := range hs {
		sum += s.slots[h>>FlagBits&mask&^(group-1)]
	}
	s.sink = sum
	for _, h := range hs {
		f := uint8(0)
		if h != 0 {
			f, _ = s.Get(h)
		}
		flags = append(flags, f)
	}
	return flags
}

// Has reports whether str is (or may be, see the package doc) a member.
func (s *Set) Has(str string) bool {
	_, ok := s.Get(s.Hash(str))
	return ok
}

// Or adds flags f to those of the member with fingerprint h, making it a member if it was
// not one.
func (s *Set) Or(h uint64, f uint8) {
	if 4*(s.n+1) > 3*len(s.slots) {
		s.grow()
	}
	if s.or(h | uint64(f&FlagMask)) {
		s.n++
	}
}

// Add makes str a member (with the flags it has, none if new).
func (s *Set) Add(str string) { s.Or(s.Hash(str), 0) }

// or puts e's fingerprint with e's flags added, reporting whether it is new.
func (s *Set) or(e uint64) bool {
	mask := uint64(len(s.slots) - 1)
	for i := e >> FlagBits & mask &^ (group - 1); ; i = (i + 1) & mask {
		switch old := s.slots[i]; {
		case old == 0:
			s.slots[i] = e
			return true
		case old&^FlagMask == e&^FlagMask:
			s.slots[i] = old | e
			return false
		}
	}
}

func (s *Set) grow() {
	old := s.slots
	s.slots = make([]uint64, 2*len(old))
	for _, e := range old {
		if e != 0 {
			s.or(e)
		}
	}
}

// Clear takes the flags f off every member (members stay).
func (s *Set) Clear(f uint8) {
	for i, e := range s.slots {
		s.slots[i] = e &^ uint64(f&FlagMask)
	}
}

// Reset empties the set, keeping its room.
func (s *Set) Reset() {
	clear(s.slots)
	s.n = 0
}

// Len is how many members the set has.
func (s *Set) Len() int { return s.n }

// Bytes is the table's size.
func (s *Set) Bytes() int { return 8 * len(s.slots) }
