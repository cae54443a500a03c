package seqindex

import (
	mrand "math/rand/v2"
	"testing"
)

// TestIndex inserts and deletes random entries, whose tags share a few homes at the ends
// of the table (so that probes wrap and deletions shift across the end), and checks after
// each step that every entry held is found and the count is right, as the Index grows.
func TestIndex(t *testing.T) {
	x := New()
	rng := mrand.New(mrand.NewPCG(1, 2))
	held := map[uint64]bool{}
	var order []uint64
	for step := range 20_000 {
		if rng.IntN(3) > 0 || len(order) == 0 {
			home := uint64(rng.IntN(4)) - 2 // -2 to 1: the last two positions, the first two
			tag := Tag(uint64(rng.IntN(1<<20))<<(SeqBits+12) | home<<SeqBits&(1<<36-1))
			e := Entry(tag, uint64(step))
			i := x.Home(tag)
			for x.At(i) != 0 {
				i = x.Next(i)
			}
			x.Insert(i, e)
			held[e] = true
			order = append(order, e)
		} else {
			k := rng.IntN(len(order))
			e := order[k]
			order[k] = order[len(order)-1]
			order = order[:len(order)-1]
			x.Delete(x.Find(e))
			delete(held, e)
		}
		if x.Len() != len(held) {
			t.Fatalf("step %d: %d entries, want %d", step, x.Len(), len(held))
		}
		if step%500 == 0 {
			for e := range held {
				if x.At(x.Find(e)) != e {
					t.Fatalf("step %d: %x not found", step, e)
				}
			}
		}
	}
	if len(x.entries) <= minEntries {
		t.Fatalf("the index never grew: %d entries", len(x.entries))
	}
}

// TestQueue pushes and pops across chunks, from a sequence number near 2^SeqBits, and
// checks the records' numbers, what a reused record holds, and that chunks are reused.
func TestQueue(t *testing.T) {
	var q Queue[uint64]
	const start = 1<<SeqBits - 100
	q.StartAt(start)
	for round := range 10 {
		for range ChunkSize / 2 {
			p, seq := q.Push()
			// The head leaves the first chunk in round 3; the tail reuses it in round 4.
			if reused := round >= 4; reused != (*p != 0) {
				t.Fatalf("round %d: record %d holds %d, want it reused: %v", round, seq, *p,
					reused)
			}
			*p = seq
		}
		for q.Len() > ChunkSize {
			if got := *q.At(q.Head()); got != q.Head() {
				t.Fatalf("record %d holds %d", q.Head(), got)
			}
			q.Pop()
		}
		if q.Chunks() > 2 {
			t.Fatalf("round %d: %d chunks for %d records", round, q.Chunks(), q.Len())
		}
	}
	if q.Tail() != start+10*ChunkSize/2 || q.Len() != ChunkSize {
		t.Fatalf("tail %d, %d records", q.Tail(), q.Len())
	}
}
