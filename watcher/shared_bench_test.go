package watcher

import (
	"hash/maphash"
	"math/bits"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/fanin"
)

// sharedTable is a yardstick for a redesign of the worker's state, not code the worker
// runs: the least that a worker would do per movement if the taint cache's set of bases,
// deposit inference's window of arrivals and the fan-in tracker's window of payments were
// one table of addresses, each address one slot holding all three. Per movement it finds
// the sender's slot (its taint flags, its last arrival, to match a forward) and the
// receiver's (made if missing), notes the arrival and the payment in two rings as long as
// deposit.DefaultMaxReceipts and fanin.DefaultMaxPayments, and takes the oldest of each
// out of its address's slot, freeing a slot that then holds nothing. It keeps no amounts,
// senders or transactions: what the learners do with a match is left out, as in window.
// Like the worker's own tables it reads a batch's slots ahead before using them (see
// fpset.Set.GetAll), so that their cache misses overlap.
type sharedTable struct {
	seed               maphash.Seed
	slots              []sharedSlot // linear probing from a fingerprint's home
	mask               uint64
	receipts, payments sharedRing
	hs                 []uint64 // scratch: a batch's fingerprints, sender then receiver
	sink               uint64   // what the read-ahead read
}

// sharedSlot is an address's slot: its fingerprint (0: empty) with its flags in the low
// byte, and the numbers (from 1) of its last arrival and payment in the rings (0: none
// there).
type sharedSlot struct {
	fp       uint64
	rec, pay uint32
}

// sharedRing holds the fingerprints of the addresses of the last len(fps) arrivals (or
// payments), the n-th at (n-1) % len(fps).
type sharedRing struct {
	fps []uint64
	n   uint32
}

const (
	sharedHeld   = 1 // the address holds taint
	sharedListed = 2 // a list names it
	sharedFlags  = 0xff
)

// newSharedTable returns the table holding rb's tracked addresses (held) and the bundled
// lists' sources and exchanges (listed), its rings as long as the learners' windows.
func newSharedTable(rb *rulesBench) *sharedTable {
	return buildSharedTable(rb.addrs, append(rb.sources[:len(rb.sources):len(rb.sources)],
		rb.exchanges...), deposit.DefaultMaxReceipts, fanin.DefaultMaxPayments)
}

// buildSharedTable returns a table holding held and listed, with rings of receipts and
// payments, at a load of at most a half with the rings full.
func buildSharedTable(held, listed []string, receipts, payments int) *sharedTable {
	size := uint64(1) << bits.Len(uint(2*(len(held)+len(listed)+receipts+payments)))
	t := &sharedTable{seed: maphash.MakeSeed(), slots: make([]sharedSlot, size),
		mask: size - 1, receipts: sharedRing{fps: make([]uint64, receipts)},
		payments: sharedRing{fps: make([]uint64, payments)}}
	for _, a := range held {
		t.slots[t.place(t.hash(a))].fp |= sharedHeld
	}
	for _, a := range listed {
		t.slots[t.place(t.hash(a))].fp |= sharedListed
	}
	return t
}

// hash is a's fingerprint: never 0, its flag byte 0.
func (t *sharedTable) hash(a string) uint64 {
	if h := maphash.String(t.seed, a) &^ sharedFlags; h != 0 {
		return h
	}
	return 1 << 8
}

// home is where the probe for fp starts.
func (t *sharedTable) home(fp uint64) uint64 { return fp >> 8 & t.mask }

// find returns the slot of fp, or the empty one where it would go, and whether it is there.
func (t *sharedTable) find(fp uint64) (uint64, bool) {
	for i := t.home(fp); ; i = (i + 1) & t.mask {
		switch e := t.slots[i].fp; {
		case e&^sharedFlags == fp:
			return i, true
		case e == 0:
			return i, false
		}
	}
}

// place returns the slot of fp, made if missing.
func (t *sharedTable) place(fp uint64) uint64 {
	i, ok := t.find(fp)
	if !ok {
		t.slots[i].fp = fp
	}
	return i
}

// remove empties slot i, moving back the slots after it that their probes would no longer
// find (backward-shift deletion).
func (t *sharedTable) remove(i uint64) {
	for {
		t.slots[i] = sharedSlot{}
		j := i
		for {
			j = (j + 1) & t.mask
			fp := t.slots[j].fp
			if fp == 0 {
				return
			}
			// The slot at j may move to i unless its home is cyclically in (i, j].
			if (j-t.home(fp))&t.mask >= (j-i)&t.mask {
				t.slots[i] = t.slots[j]
				i = j
				break
			}
		}
	}
}

// run does a pass's work on ms, a benchBatch at a time, and returns how many of the
// senders and receivers held taint or were listed, and how many senders had an arrival in
// the window (a forward to match).
func (t *sharedTable) run(ms []chains.Movement) int {
	hits := 0
	for k := 0; k < len(ms); k += benchBatch {
		hits += t.batch(ms[k:min(k+benchBatch, len(ms))])
	}
	return hits
}

// batch does run's work on one batch of ms: fingerprints, the read-ahead, then the slots.
func (t *sharedTable) batch(ms []chains.Movement) int {
	hs := t.hs[:0]
	for i := range ms {
		hs = append(hs, t.hash(ms[i].Inputs[0].Address), t.hash(ms[i].Outputs[0].Address))
	}
	t.hs = hs
	var sum uint64 // the read-ahead: the batch's slots, and those of what it will evict
	for _, h := range hs {
		sum += t.slots[t.home(h)].fp
	}
	for k := range uint32(len(ms)) {
		for _, r := range []*sharedRing{&t.receipts, &t.payments} {
			sum += t.slots[t.home(r.fps[(r.n+k)%uint32(len(r.fps))])].fp
		}
	}
	t.sink += sum
	hits := 0
	for i := range ms {
		if j, ok := t.find(hs[2*i]); ok {
			s := &t.slots[j]
			if s.fp&sharedFlags != 0 {
				hits++
			}
			if s.rec != 0 && t.receipts.n-s.rec < uint32(len(t.receipts.fps)) {
				hits++
			}
		}
		to := hs[2*i+1]
		rec := t.push(&t.receipts, to, func(s *sharedSlot) *uint32 { return &s.rec })
		pay := t.push(&t.payments, to, func(s *sharedSlot) *uint32 { return &s.pay })
		s := &t.slots[t.place(to)]
		if s.fp&sharedFlags != 0 {
			hits++
		}
		s.rec, s.pay = rec, pay
	}
	return hits
}

// push notes fp in r as its newest and returns its number; the oldest, which it replaces,
// is taken out of its address's slot (where the slot's field of r names it), and the slot
// is freed if then it holds nothing.
func (t *sharedTable) push(r *sharedRing, fp uint64, field func(*sharedSlot) *uint32) uint32 {
	pos := r.n % uint32(len(r.fps))
	if old := r.fps[pos]; old != 0 {
		if j, ok := t.find(old); ok {
			s := &t.slots[j]
			if f := field(s); *f == r.n+1-uint32(len(r.fps)) {
				*f = 0
				if s.fp&sharedFlags == 0 && s.rec == 0 && s.pay == 0 {
					t.remove(j)
				}
			}
		}
	}
	r.fps[pos] = fp
	r.n++
	return r.n
}
