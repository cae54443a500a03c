package watcher

import (
	"fmt"
	mrand "math/rand/v2"
	"testing"
)

// TestBaseSet plays random finds, puts and ors, past several growths, on a baseSet and on
// a map, and checks that both hold the same bases with the same flags.
func TestBaseSet(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(5, 6))
	s, m := newBaseSet(), map[string]uint8{}
	for step := range 50_000 {
		base := fmt.Sprintf("0x%040x", rng.IntN(20_000))
		f := uint8(rng.IntN(4))
		switch rng.IntN(3) {
		case 0:
			r, had, ok := s.find(base)
			if want, wantOK := m[base]; ok != wantOK || had != want {
				t.Fatalf("step %d: find %s = %d, %v; want %d, %v", step, base, had, ok, want,
					wantOK)
			}
			s.put(r, f)
			m[base] = f
		case 1:
			s.or(base, f)
			m[base] |= f
		default:
			got, ok := s.get(base)
			if want, wantOK := m[base]; ok != wantOK || got != want {
				t.Fatalf("step %d: get %s = %d, %v; want %d, %v", step, base, got, ok, want,
					wantOK)
			}
		}
		if s.len() != len(m) {
			t.Fatalf("step %d: %d bases, want %d", step, s.len(), len(m))
		}
	}
	for base, want := range m {
		if got, ok := s.get(base); !ok || got != want {
			t.Fatalf("%s: %d, %v; want %d", base, got, ok, want)
		}
	}
	if 4*s.len() > 3*len(s.slots) {
		t.Fatalf("%d bases in %d slots", s.len(), len(s.slots))
	}
}
