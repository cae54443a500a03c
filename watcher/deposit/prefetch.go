package deposit

import (
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/internal/seqindex"
)

// ahead is a transfer that Prefetch read ahead for: the movement, its legs, and the hashes
// of its sender's and receiver's slots, for Observe to use.
type ahead struct {
	m        *chains.Movement
	from, to *chains.Leg
	fh, th   uint64
}

// probe is an index entry that Prefetch reads: at pos, for a slot tagged tag (0: the
// entry of an oldest receipt, read only for its own sake).
type probe struct {
	pos int
	tag uint64
}

// Prefetch reads ahead what Observe will read of the table for ms, the movements it is
// about to be given in this order: the index entries of their senders' and receivers'
// slots, the receipts those entries name, and the entries of the oldest receipts, which
// their arrivals will forget. Observe on its own reads one of these at a time, each a
// likely cache miss once the table outgrows the cache; read here in one pass, with no
// load waiting on another, the misses overlap. It changes nothing that Observe returns:
// Observe uses what it computed only for the movement it read ahead for next, which it
// knows by its address: ms must not change until Observe is given them (but to be marked
// removed, which Observe checks).
func (in *Inferrer) Prefetch(ms []chains.Movement) {
	t := in.receipts
	x := t.index
	in.ahead, in.next = in.ahead[:0], 0
	probes := in.probes[:0]
	for i := range ms {
		a, ok := in.read(&ms[i])
		if !ok {
			continue
		}
		in.ahead = append(in.ahead, a)
		ft, tt := seqindex.Tag(a.fh), seqindex.Tag(a.th)
		probes = append(probes, probe{x.Home(ft), ft}, probe{x.Home(tt), tt})
	}
	n := len(in.ahead) // at most as many receipts forgotten as arrive
	q := &t.queue
	for seq := q.Head(); seq < q.Tail() && n > 0; seq++ {
		if r := q.At(seq); !r.dead {
			probes = append(probes, probe{pos: x.Home(r.tag)})
			n--
		}
	}
	var sum uint64
	for _, p := range probes {
		sum += x.At(p.pos)
	}
	// The receipts found and the addresses they compare, and the receipts that the
	// arrivals will take, at the tail.
	for _, p := range probes {
		if e := x.At(p.pos); seqindex.TagOf(e) == p.tag {
			if a := q.At(t.seqOf(e)).addr; len(a) > 0 {
				sum += uint64(a[0])
			}
		}
	}
	for seq := q.Tail(); seq < q.Tail()+uint64(len(in.ahead)) && q.Allocated(seq); seq++ {
		sum += uint64(q.At(seq).when)
	}
	in.probes, in.sink = probes, sum
}

// transfer returns m's transfer, as Prefetch read it ahead if m is the movement it read
// ahead for next; false if m is no transfer, or removed (since: the read-ahead is used up
// all the same, so that the movements after it still find theirs).
func (in *Inferrer) transfer(m *chains.Movement) (ahead, bool) {
	if in.next < len(in.ahead) && in.ahead[in.next].m == m {
		in.next++
		return in.ahead[in.next-1], !m.Removed
	}
	return in.read(m)
}

// read returns m's transfer, with the hashes of its sender's and receiver's slots; false
// if m is no transfer, or removed.
func (in *Inferrer) read(m *chains.Movement) (ahead, bool) {
	from, to, ok := m.Transfer()
	if !ok || m.Removed {
		return ahead{}, false
	}
	t := in.receipts
	return ahead{m: m, from: from, to: to, fh: t.hashOf(slot{from.Address, to.Asset}),
		th: t.hashOf(slot{to.Address, to.Asset})}, true
}
