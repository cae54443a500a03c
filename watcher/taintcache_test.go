package watcher

import (
	"context"
	"testing"

	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
)

// countingStore counts the addresses asked of a real (in-memory) taint store.
type countingStore struct {
	*taint.Memory
	asked int
}

func (s *countingStore) Taints(ctx context.Context, chain string, addrs ...string) (
	map[string]rules.Taint, error) {
	s.asked += len(addrs)
	return s.Memory.Taints(ctx, chain, addrs...)
}

// TestTaintCache: the cache asks the store only about addresses it does not know, tainted or
// not; it learns what was applied; forget and a full cache send it back to the store.
func TestTaintCache(t *testing.T) {
	ctx := context.Background()
	store := &countingStore{Memory: taint.NewMemory()}
	src := rules.Taint{Root: "0xroot", Source: rules.Source{Entity: "e"}}
	if err := store.ApplyAll(ctx, "c", taint.Fence{}, []taint.Effect{{Key: "k1",
		Taints: []rules.NewTaint{{Address: "0xa", Taint: src}}}}); err != nil {
		t.Fatal(err)
	}
	c := newTaintCache(4)
	lookup := func(addrs ...string) map[string]rules.Taint {
		t.Helper()
		cc, err := c.lookup(ctx, store, "c", addrs)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]rules.Taint{}
		for _, a := range addrs {
			if tt, ok := cc.taint(a); ok {
				got[a] = tt
			}
		}
		return got
	}
	tests := []struct {
		name      string
		do        func()
		give      []string
		wantTaint []string
		wantAsked int
	}{
		{"first lookup asks once per distinct address", nil,
			[]string{"0xa", "0xb", "0xa"}, []string{"0xa"}, 2},
		{"known addresses are not asked again", nil, []string{"0xb", "0xa"}, []string{"0xa"}, 0},
		{"applied taint is known", func() {
			e := []taint.Effect{{Key: "k2", Taints: []rules.NewTaint{{Address: "0xb",
				Taint: src}}}}
			if err := store.ApplyAll(ctx, "c", taint.Fence{}, e); err != nil {
				t.Fatal(err)
			}
			c.applied("c", e)
		}, []string{"0xb"}, []string{"0xb"}, 0},
		{"forget sends it back to the store", func() { c.forget("c") },
			[]string{"0xa", "0xb"}, []string{"0xa", "0xb"}, 2},
		{"a full cache empties and refills", func() { lookup("0xc", "0xd", "0xe") },
			[]string{"0xa"}, []string{"0xa"}, 1},
	}
	for _, tt := range tests {
		if tt.do != nil {
			tt.do()
		}
		store.asked = 0
		got := lookup(tt.give...)
		if store.asked != tt.wantAsked || len(got) != len(tt.wantTaint) {
			t.Fatalf("%s: asked %d, tainted %v; want %d, %v", tt.name, store.asked, got,
				tt.wantAsked, tt.wantTaint)
		}
		for _, a := range tt.wantTaint {
			if got[a].Root != "0xroot" {
				t.Fatalf("%s: %s not tainted", tt.name, a)
			}
		}
	}
}
