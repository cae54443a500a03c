package deposit

import (
	"fmt"
	"hash/fnv"
	mrand "math/rand/v2"
	"slices"
	"testing"

	"github.com/flowwatch/flowwatch/internal/seqindex"
)

// queueModel is what a table does, plainly: the queue as a slice, with a map of the live.
type queueModel struct {
	q    []modelEntry
	off  int          // how many entries left q from its head
	live map[slot]int // index in q, plus off
}

type modelEntry struct {
	s    slot
	when int64
	dead bool
}

func (m *queueModel) push(s slot, when int64) {
	if i, ok := m.live[s]; ok {
		m.q[i-m.off].dead = true
	}
	m.live[s] = m.off + len(m.q)
	m.q = append(m.q, modelEntry{s: s, when: when})
}

func (m *queueModel) remove(s slot) {
	if i, ok := m.live[s]; ok {
		m.q[i-m.off].dead = true
		delete(m.live, s)
	}
}

// dropWhile drops dead entries at the head, and the oldest live while drop says so.
func (m *queueModel) dropWhile(drop func(e modelEntry) bool) {
	for len(m.q) > 0 && (m.q[0].dead || drop(m.q[0])) {
		if !m.q[0].dead {
			delete(m.live, m.q[0].s)
		}
		m.q, m.off = m.q[1:], m.off+1
	}
}

// TestTable plays random arrivals, renewals, reorgs and prunes, across chunks, on a table
// and on the plain model of one, and checks after each step that both remember the same
// receipts in the same order: with more addresses than the bound (the count of live
// receipts bounds it) and with few, renewed often (the dead they leave bound it).
func TestTable(t *testing.T) {
	const max = seqindex.ChunkSize + 17
	for _, tc := range []struct {
		name          string
		addrs, window int
		collide       bool
		start         uint64 // the first sequence number
	}{
		{name: "many addresses", addrs: 3 * max / 2, window: 3000},
		{name: "few addresses", addrs: max / 4, window: 1 << 30},
		// 64 hashes for all, whose probes start at the index's last two entries or its first
		// two: every slot shares its tag and its probe with dozens, and the probes wrap.
		{name: "colliding hashes", addrs: max / 2, window: 3000, collide: true},
		// The index keeps 24 bits of a sequence number; the queue passes 2^24 at once.
		{name: "sequence numbers past 2^24", addrs: 3 * max / 2, window: 3000,
			start: 1<<seqindex.SeqBits - 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := newTable()
			tab.queue.StartAt(tc.start)
			if tc.collide {
				tab.hashOf = func(s slot) uint64 { // FNV: the same hashes every run
					f := fnv.New64a()
					f.Write([]byte(s.addr))
					h := f.Sum64()
					home := uint64(int64(h/16%4)-2) & (1<<26 - 1) // -2 to 1
					return h%16<<50 | home<<seqindex.SeqBits
				}
			}
			testTable(t, tab, max, tc.addrs, tc.window)
		})
	}
}

func testTable(t *testing.T, tab *table, max, addrs, window int) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	m := &queueModel{live: map[slot]int{}}
	now := int64(0)
	for step := range 20_000 {
		now += int64(rng.IntN(2))
		s := slot{addr: fmt.Sprintf("0x%x", rng.IntN(addrs)), asset: "native"}
		switch op := rng.IntN(100); {
		case op < 85: // an arrival: a new receipt, or one renewed
			r, at := tab.get(s)
			if _, ok := m.live[s]; ok != (r != nil) {
				t.Fatalf("step %d: %v remembered %v, want %v", step, s, r != nil, ok)
			}
			tab.push(s, at, r).when = now
			m.push(s, now)
			tab.trim(max)
			m.dropWhile(func(modelEntry) bool { return len(m.live) > max || len(m.q) > 2*max })
		case op < 95: // a reorg takes an arrival back
			if r, _ := tab.get(s); r != nil {
				tab.remove(r)
			}
			m.remove(s)
		default: // the window moves on
			limit := now - int64(window+rng.IntN(window))
			tab.prune(limit)
			m.dropWhile(func(e modelEntry) bool { return e.when < limit })
		}
		if tab.live != len(m.live) || tab.index.Len() != tab.live {
			t.Fatalf("step %d: %d live, %d indexed, want %d", step, tab.live, tab.index.Len(),
				len(m.live))
		}
	}
	var got, want []slot
	for seq := tab.queue.Head(); seq < tab.queue.Tail(); seq++ {
		if r := tab.queue.At(seq); !r.dead {
			got = append(got, r.slot)
		}
	}
	for _, e := range m.q {
		if !e.dead {
			want = append(want, e.s)
		}
	}
	for _, s := range want {
		if r, _ := tab.get(s); r == nil || r.slot != s {
			t.Fatalf("%v not found", s)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the table remembers %d receipts, the model %d, or in another order",
			len(got), len(want))
	}
	if len(got) < min(addrs, max)/2 || tab.queue.Chunks() > 2*max/seqindex.ChunkSize+2 {
		t.Fatalf("%d remembered in %d chunks (bound %d)", len(got), tab.queue.Chunks(), max)
	}
}
