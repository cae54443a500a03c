package deposit

import (
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"testing"
)

// queueModel is what a table does, plainly: the queue as a slice, with a map of the live.
type queueModel struct {
	q    []modelEntry
	live map[slot]int // index in q
}

type modelEntry struct {
	s    slot
	when int64
	dead bool
}

func (m *queueModel) push(s slot, when int64) {
	if i, ok := m.live[s]; ok {
		m.q[i].dead = true
	}
	m.live[s] = len(m.q)
	m.q = append(m.q, modelEntry{s: s, when: when})
}

func (m *queueModel) remove(s slot) {
	if i, ok := m.live[s]; ok {
		m.q[i].dead = true
		delete(m.live, s)
	}
}

// dropWhile drops dead entries at the head, and the oldest live while drop says so.
func (m *queueModel) dropWhile(drop func(e modelEntry) bool) {
	for len(m.q) > 0 && (m.q[0].dead || drop(m.q[0])) {
		if !m.q[0].dead {
			delete(m.live, m.q[0].s)
		}
		m.q = m.q[1:]
		for s, i := range m.live {
			m.live[s] = i - 1
		}
	}
}

// TestTable plays random arrivals, renewals, reorgs and prunes, across chunks, on a table
// and on the plain model of one, and checks after each step that both remember the same
// receipts in the same order: with more addresses than the bound (the count of live
// receipts bounds it) and with few, renewed often (the dead they leave bound it).
func TestTable(t *testing.T) {
	const max = chunkSize + 17
	for _, tc := range []struct {
		name          string
		addrs, window int
	}{
		{name: "many addresses", addrs: 3 * max / 2, window: 3000},
		{name: "few addresses", addrs: max / 4, window: 1 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) { testTable(t, max, tc.addrs, tc.window) })
	}
}

func testTable(t *testing.T, max, addrs, window int) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	tab := newTable()
	m := &queueModel{live: map[slot]int{}}
	now := int64(0)
	for step := range 20_000 {
		now += int64(rng.IntN(2))
		s := slot{addr: fmt.Sprintf("0x%x", rng.IntN(addrs)), asset: "native"}
		switch op := rng.IntN(100); {
		case op < 85: // an arrival: a new receipt, or one renewed
			r, h := tab.get(s)
			if _, ok := m.live[s]; ok != (r != nil) {
				t.Fatalf("step %d: %v remembered %v, want %v", step, s, r != nil, ok)
			}
			tab.push(s, h, r).when = now
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
		if tab.live != len(m.live) {
			t.Fatalf("step %d: %d live, want %d", step, tab.live, len(m.live))
		}
	}
	var got, want []slot
	for seq := tab.head; seq < tab.tail; seq++ {
		if r := tab.at(seq); !r.dead {
			got = append(got, r.slot)
		}
	}
	for _, e := range m.q {
		if !e.dead {
			want = append(want, e.s)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the table remembers %d receipts, the model %d, or in another order",
			len(got), len(want))
	}
	if len(got) < min(addrs, max)/2 || len(tab.chunks) > 2*max/chunkSize+2 {
		t.Fatalf("%d remembered in %d chunks (bound %d)", len(got), len(tab.chunks), max)
	}
}

// TestTableCollision checks that two slots whose hashes collide share one entry: the later
// is remembered, the earlier forgotten.
func TestTableCollision(t *testing.T) {
	tab := newTable()
	a, b := slot{"0xa", "native"}, slot{"0xb", "native"}
	tab.push(a, 7, nil).when = 1
	tab.push(b, 7, nil).when = 2
	if tab.live != 1 || tab.oldest().slot != b {
		t.Fatalf("%d live, oldest %v; want b alone", tab.live, tab.oldest().slot)
	}
}
