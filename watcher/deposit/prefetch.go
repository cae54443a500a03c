package deposit

import "github.com/flowwatch/flowwatch/chains"

// ahead is a transfer that Prefetch read ahead for: its sender's and receiver's slots of
// asset, and their hashes, for Observe to use.
type ahead struct {
	from, to, asset string
	fh, th          uint64
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
// Observe uses the hashes it computed only for the transfer it read ahead for next.
func (in *Inferrer) Prefetch(ms []chains.Movement) {
	t := in.receipts
	x := t.index
	in.ahead, in.next = in.ahead[:0], 0
	probes := in.probes[:0]
	for i := range ms {
		from, to, ok := ms[i].Transfer()
		if !ok || ms[i].Removed {
			continue
		}
		a := ahead{from: from.Address, to: to.Address, asset: to.Asset,
			fh: t.hashOf(slot{from.Address, to.Asset}), th: t.hashOf(slot{to.Address, to.Asset})}
		in.ahead = append(in.ahead, a)
		ft, tt := tagOf(a.fh), tagOf(a.th)
		probes = append(probes, probe{x.home(ft), ft}, probe{x.home(tt), tt})
	}
	n := len(in.ahead) // at most as many receipts forgotten as arrive
	for seq := t.head; seq < t.tail && n > 0; seq++ {
		if r := t.at(seq); !r.dead {
			probes = append(probes, probe{pos: x.home(r.tag)})
			n--
		}
	}
	var sum uint64
	for _, p := range probes {
		sum += x.entries[p.pos]
	}
	// The receipts found and the addresses they compare, and the receipts that the
	// arrivals will take, at the tail.
	for _, p := range probes {
		if e := x.entries[p.pos]; e>>seqBits == p.tag {
			if a := t.at(t.seqOf(e)).addr; len(a) > 0 {
				sum += uint64(a[0])
			}
		}
	}
	for seq := t.tail; seq < t.tail+uint64(len(in.ahead)) && t.allocated(seq); seq++ {
		sum += uint64(t.at(seq).when)
	}
	in.probes, in.sink = probes, sum
}

// hashes returns the hashes of the slots of asset of a transfer from and to: those
// Prefetch computed if it is the next transfer Prefetch read ahead for. (Comparing the
// strings costs little: those of the same movement are the same memory.)
func (in *Inferrer) hashes(from, to, asset string) (uint64, uint64) {
	if in.next < len(in.ahead) {
		if a := &in.ahead[in.next]; a.from == from && a.to == to && a.asset == asset {
			in.next++
			return a.fh, a.th
		}
	}
	t := in.receipts
	return t.hashOf(slot{from, asset}), t.hashOf(slot{to, asset})
}
