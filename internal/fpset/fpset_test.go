package fpset

import (
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"testing"
)

// TestSet plays random ors, gets and clears, past several growths, on a Set and on a map,
// and checks that both hold the same members with the same flags, and that strings
// never added are not found.
func TestSet(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(5, 6))
	s, m := New(), map[string]uint8{}
	for step := range 200_000 {
		str := fmt.Sprintf("0x%040x", rng.IntN(50_000))
		switch r := rng.IntN(1000); {
		case r < 500:
			f := uint8(rng.IntN(FlagMask + 1))
			s.Or(s.Hash(str), f)
			m[str] |= f
		case r < 999:
			got, ok := s.Get(s.Hash(str))
			if want, wantOK := m[str]; ok != wantOK || got != want {
				t.Fatalf("step %d: get %s = %d, %v; want %d, %v", step, str, got, ok,
					want, wantOK)
			}
		default:
			f := uint8(1 + rng.IntN(FlagMask))
			s.Clear(f)
			for k := range m {
				m[k] &^= f
			}
		}
		if s.Len() != len(m) {
			t.Fatalf("step %d: %d members, want %d", step, s.Len(), len(m))
		}
	}
	var hs []uint64
	var want []uint8
	for str, f := range m { // GetAll, of members, of strings never added, and of none (0)
		hs = append(hs, s.Hash(str), s.Hash("0y"+str[2:]), 0)
		want = append(want, f, 0, 0)
	}
	if got := s.GetAll(hs, []uint8{9}); !slices.Equal(got, append([]uint8{9}, want...)) {
		t.Fatalf("GetAll: %d flags differ from Get's", len(got))
	}
	for str, want := range m {
		if got, ok := s.Get(s.Hash(str)); !ok || got != want {
			t.Fatalf("%s: %d, %v; want %d", str, got, ok, want)
		}
		if s.Has("0y" + str[2:]) {
			t.Fatalf("non-member %s found", "0y"+str[2:])
		}
	}
	if 4*s.Len() > 3*len(s.slots) || s.Bytes() != 8*len(s.slots) {
		t.Fatalf("%d members in %d slots (%d bytes)", s.Len(), len(s.slots), s.Bytes())
	}
	bytes := s.Bytes()
	if s.Reset(); s.Len() != 0 || s.Bytes() != bytes || s.Has("0x"+fmt.Sprintf("%040x", 1)) {
		t.Fatalf("after Reset: %d members, %d bytes", s.Len(), s.Bytes())
	}
	for str := range m {
		if s.Has(str) {
			t.Fatalf("after Reset: %s found", str)
		}
	}
}

// TestHash: a fingerprint has no flag bits and is never 0, whatever the string.
func TestHash(t *testing.T) {
	s := New()
	for i := range 10_000 {
		if h := s.Hash(fmt.Sprint(i)); h == 0 || h&FlagMask != 0 {
			t.Fatalf("%d: fingerprint %#x", i, h)
		}
	}
}

// BenchmarkSet: a lookup of an address that is not a member, in a set of a million, one
// at a time and in batches (GetAll), beside a Go map of the same strings.
func BenchmarkSet(b *testing.B) {
	const n = 1_000_000
	s := New()
	m := make(map[string]struct{}, n)
	for i := range n {
		a := fmt.Sprintf("0x%040x", i*7919)
		s.Add(a)
		m[a] = struct{}{}
	}
	probes := make([]string, 1<<16)
	for i := range probes {
		probes[i] = fmt.Sprintf("0x%040x", i*7919+1)
	}
	b.Run("fpset", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if s.Has(probes[i&(len(probes)-1)]) {
				b.Fatal("found")
			}
		}
	})
	b.Run("fpset-getall", func(b *testing.B) { // batches of 512, as the worker looks up
		const batch = 512
		hs, flags := make([]uint64, batch), make([]uint8, 0, batch)
		for i := 0; b.Loop(); i++ {
			k := i * batch & (len(probes) - 1)
			for j := range hs {
				hs[j] = s.Hash(probes[k+j])
			}
			flags = s.GetAll(hs, flags[:0])
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/lookup")
	})
	b.Run("map", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, ok := m[probes[i&(len(probes)-1)]]; ok {
				b.Fatal("found")
			}
		}
	})
}
