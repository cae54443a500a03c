package taint

import (
	"fmt"
	"hash/maphash"
	"testing"
)

// TestFPSet: members are found, others not, across growth.
func TestFPSet(t *testing.T) {
	s := newFPSet(maphash.MakeSeed())
	for i := range 100_000 {
		s.add(fmt.Sprintf("0x%040x", i))
	}
	s.add("0x0000000000000000000000000000000000000000") // again
	if s.len() != 100_000 {
		t.Fatalf("len %d", s.len())
	}
	for i := range 100_000 {
		if !s.has(fmt.Sprintf("0x%040x", i)) {
			t.Fatalf("member %d not found", i)
		}
		if s.has(fmt.Sprintf("0y%040x", i)) {
			t.Fatalf("non-member %d found", i)
		}
	}
}

// BenchmarkFPSet: a lookup of an address that is not a member, in a set of a million,
// beside a Go map of the same strings.
func BenchmarkFPSet(b *testing.B) {
	const n = 1_000_000
	s := newFPSet(maphash.MakeSeed())
	m := make(map[string]struct{}, n)
	for i := range n {
		a := fmt.Sprintf("0x%040x", i*7919)
		s.add(a)
		m[a] = struct{}{}
	}
	probes := make([]string, 1<<16)
	for i := range probes {
		probes[i] = fmt.Sprintf("0x%040x", i*7919+1)
	}
	b.Run("fpset", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if s.has(probes[i&(len(probes)-1)]) {
				b.Fatal("found")
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, ok := m[probes[i&(len(probes)-1)]]; ok {
				b.Fatal("found")
			}
		}
	})
}
