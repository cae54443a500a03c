package fanin

import (
	"hash/maphash"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/internal/seqindex"
)

// ahead is a transfer that Prefetch read ahead for: the movement and its receiver's tag.
type ahead struct {
	m   *chains.Movement
	tag uint64
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
		m := &ms[i]
		if _, o, ok := m.Transfer(); ok && !m.Removed {
			tr.ahead = append(tr.ahead, ahead{m, tr.tagOf(o.Address)})
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

// receiverTag is the tag of the receiver of m, a transfer to to: as Prefetch computed it if
// m is the movement it read ahead for next.
func (tr *Tracker) receiverTag(m *chains.Movement, to string) uint64 {
	if tr.next < len(tr.ahead) && tr.ahead[tr.next].m == m {
		tr.next++
		return tr.ahead[tr.next-1].tag
	}
	return tr.tagOf(to)
}

// tagOf is the tag of address addr in the index.
func (tr *Tracker) tagOf(addr string) uint64 {
	return seqindex.Tag(maphash.String(tr.seed, addr))
}
