package watcher

import (
	"context"
	"slices"
	"testing"

	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

// countingStore counts the keys asked of a real (in-memory) taint store.
type countingStore struct {
	*taint.Memory
	asked []string
}

func (s *countingStore) Taints(ctx context.Context, chain string, keys ...string) (
	map[string]rules.Taint, error) {
	s.asked = append(s.asked, keys...)
	return s.Memory.Taints(ctx, chain, keys...)
}

// TestTaintCache: the cache asks the store only about bases it has not seen, under every
// prefix it reads, and says which hold anything or are listed; it learns what was applied
// under those prefixes; forget, a full cache and a change of the lists send it back to the
// store.
func TestTaintCache(t *testing.T) {
	ctx := context.Background()
	store := &countingStore{Memory: taint.NewMemory()}
	src := rules.Taint{Root: "0xroot", Source: rules.Source{Entity: "e"}}
	apply := func(effects ...taint.Effect) {
		t.Helper()
		if err := store.ApplyAll(ctx, "c", taint.Fence{}, effects); err != nil {
			t.Fatal(err)
		}
	}
	apply(taint.Effect{Key: "k1", Taints: []rules.NewTaint{{Address: "0xa", Taint: src},
		{Address: "f/0xc", Taint: src}, {Address: "p/counterparty/0xd", Taint: src}}})
	lists := watchlist.New()
	lists.AddLabel("c", "0xx", rules.Label{Category: "exchange"})
	live := watchlist.NewLive(lists)
	c := newTaintCache(6, []string{"", "f/"}, live)
	var cc *chainCache
	lookup := func(bases ...string) []uint8 {
		t.Helper()
		var flags []uint8
		var err error
		if cc, flags, err = c.lookup(ctx, store, "c", bases, nil); err != nil {
			t.Fatal(err)
		}
		return flags
	}
	const held, listed = baseHeld, baseListed
	tests := []struct {
		name      string
		do        func()
		give      []string
		wantFlags []uint8
		wantAsked []string
		wantKnown []string // keys whose state the lookup makes known
	}{
		{"first lookup asks every prefix of each base once", nil,
			[]string{"0xa", "0xb", "0xa", "0xc"}, []uint8{held, 0, held, held},
			[]string{"0xa", "f/0xa", "0xb", "f/0xb", "0xc", "f/0xc"},
			[]string{"0xa", "f/0xc"}},
		{"bases seen are not asked again", nil, []string{"0xb", "0xa"},
			[]uint8{0, held}, nil, []string{"0xa"}},
		{"a prefix not read is not asked", nil, []string{"0xd"}, []uint8{0},
			[]string{"0xd", "f/0xd"}, nil},
		{"a listed base", nil, []string{"0xx", "0xx"}, []uint8{listed, listed},
			[]string{"0xx", "f/0xx"}, nil},
		{"applied state is known", func() {
			e := taint.Effect{Key: "k2", Taints: []rules.NewTaint{
				{Address: "f/0xb", Taint: src}, {Address: "p/counterparty/0xd", Taint: src}}}
			apply(e)
			c.applied("c", []taint.Effect{e})
		}, []string{"0xb", "0xd"}, []uint8{held, 0}, nil, []string{"f/0xb"}},
		{"forget sends it back to the store", func() { c.forget("c") },
			[]string{"0xb"}, []uint8{held}, []string{"0xb", "f/0xb"}, []string{"f/0xb"}},
		{"a full cache empties and refills", func() { lookup("0xe", "0xf", "0xg", "0xh", "0xi") },
			[]string{"0xa"}, []uint8{held}, []string{"0xa", "f/0xa"}, []string{"0xa"}},
		{"a reload of the lists starts again", func() {
			l := watchlist.New()
			l.AddLabel("c", "0xa", rules.Label{Category: "exchange"})
			live.Store(l)
		}, []string{"0xa", "0xx"}, []uint8{held | listed, 0},
			[]string{"0xa", "f/0xa", "0xx", "f/0xx"}, []string{"0xa"}},
	}
	for _, tt := range tests {
		if tt.do != nil {
			tt.do()
		}
		store.asked = nil
		flags := lookup(tt.give...)
		if !slices.Equal(flags, tt.wantFlags) || !slices.Equal(store.asked, tt.wantAsked) {
			t.Fatalf("%s: flags %v, asked %q; want %v, %q", tt.name, flags, store.asked,
				tt.wantFlags, tt.wantAsked)
		}
		for _, k := range tt.wantKnown {
			if got := cc.known[k]; got == nil || got.Root != "0xroot" {
				t.Fatalf("%s: %s not known", tt.name, k)
			}
		}
	}
}
