package fanin

import (
	"hash/maphash"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/internal/seqindex"
)

// ahead is a transfer that Prefetch read ahead for: the movement, its legs and its
// receiver's tag, for Observe to use.
type ahead struct {
	m        *chains.Movement
	from, to *chains.Leg
	tag      uint64
}

// Prefetch reads ahead what Observe will read of the Tracker for ms, the movements it is
// about to be given in this order: the index entries of their receivers, the payments
// those entries name, and the entries of the oldest payments, which their arrivals will
// forget. Observe on its own reads one of these at a time, each a likely cache miss once
// the Tracker outgrows the cache; read here in one pass, with no load waiting on another,
// the misses overlap. It changes nothing that Observe does: Observe uses what it computed
// only for the movement it read ahead for next, which it knows by its address, so ms must
// not change until Observe is given them (but to be marked removed, which Observe checks).
func (tr *Tracker) Prefetch(ms []chains.Movement) {
	tr.ahead, tr.next = tr.ahead[:0], 0
	for i := range ms {
		if a, ok := tr.read(&ms[i]); ok {
			tr.ahead = append(tr.ahead, a)
		}
	}
	x, q := tr.index, &tr.payments
	var sum uint64
	for _, a := range tr.ahead {
		sum += x.At(x.Home(a.tag))
	}
	for _, a := range tr.ahead {
		if e := x.At(x.Home(a.tag)); seqindex.TagOf(e) == a.tag {
			if to := q.At(seqindex.Seq(q.Head(), e)).to; len(to) > 0 {
				sum += uint64(to[0])
			}
		}
	}
	n := min(len(tr.ahead), q.Len()) // at most as many forgotten as arrive
	for seq := q.Head(); seq < q.Head()+uint64(n); seq++ {
		if p := q.At(seq); p.latest {
			sum += x.At(x.Home(p.tag))
		}
	}
	tr.sink = sum
}

// transfer returns m's transfer, as Prefetch read it ahead if m is the movement it read
// ahead for next; false if m is no transfer, or removed (since: the read-ahead is used up
// all the same, so that the movements after it still find theirs).
func (tr *Tracker) transfer(m *chains.Movement) (ahead, bool) {
	if tr.next < len(tr.ahead) && tr.ahead[tr.next].m == m {
		tr.next++
		return tr.ahead[tr.next-1], !m.Removed
	}
	return tr.read(m)
}

// read returns m's transfer, with its receiver's tag; false if m is no transfer, or
// removed.
func (tr *Tracker) read(m *chains.Movement) (ahead, bool) {
	from, to, ok := m.Transfer()
	if !ok || m.Removed {
		return ahead{}, false
	}
	return ahead{m: m, from: from, to: to, tag: tr.tagOf(to.Address)}, true
}

// tagOf is the tag of address addr in the index.
func (tr *Tracker) tagOf(addr string) uint64 {
	return seqindex.Tag(maphash.String(tr.seed, addr))
}
