package watcher

import (
	"context"
	"slices"
	"sync"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

// countingStore counts the keys asked of a real taint store, and its scans.
type countingStore struct {
	taint.Store
	mu    sync.Mutex
	asked []string
	scans int
}

func (s *countingStore) Taints(ctx context.Context, chain string, keys ...string) (
	map[string]rules.Taint, error) {
	s.mu.Lock()
	s.asked = append(s.asked, keys...)
	s.mu.Unlock()
	return s.Store.Taints(ctx, chain, keys...)
}

func (s *countingStore) Keys(ctx context.Context, chain string, fn func(string)) error {
	s.mu.Lock()
	s.scans++
	s.mu.Unlock()
	return s.Store.Keys(ctx, chain, fn)
}

// state returns what cc knows of key, a key of a loaded base under one of prefixes; nil if
// it holds nothing or is not known.
func (cc *chainCache) state(prefixes []string, key string) *rules.Taint {
	p, b := rules.SplitKey(key)
	if i := prefixIndex(prefixes, p); i >= 0 && cc.known[b] != nil {
		return cc.known[b][i]
	}
	return nil
}

// TestTaintCache: the cache reads which bases hold anything once, asks the store only
// about those, under every prefix it reads, once, and says which hold anything or are
// listed; it learns what is written; a failure, a full cache and a change of the lists
// send it back to the store for states, forget for the set too.
func TestTaintCache(t *testing.T) {
	ctx := context.Background()
	store := &countingStore{Store: taint.NewMemory()}
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
	c := newTaintCache(4, []string{"", "f/"}, live, zaptest.NewLogger(t))
	var cc *chainCache
	lookup := func(bases ...string) []uint8 {
		t.Helper()
		var flags []uint8
		var err error
		if cc, flags, err = c.lookup(ctx, store, "c", bases, nil, nil); err != nil {
			t.Fatal(err)
		}
		return flags
	}
	relabel := func(addr string) {
		l := watchlist.New()
		l.AddLabel("c", addr, rules.Label{Category: "exchange"})
		live.Store(l)
	}
	// The held flags of the prefixes read, plain and FIFO.
	const plain, fifo, listed = 2, 4, baseListed
	tests := []struct {
		name      string
		do        func()
		give      []string
		wantFlags []uint8
		wantAsked []string
		wantKnown []string // keys whose state the lookup makes known
		wantScans int
	}{
		{"first lookup asks about the bases that hold anything, every prefix, once", nil,
			[]string{"0xa", "0xb", "0xa", "0xc"}, []uint8{plain, 0, plain, fifo},
			[]string{"0xa", "f/0xa", "0xc", "f/0xc"}, []string{"0xa", "f/0xc"}, 1},
		{"bases read are not asked again", nil, []string{"0xb", "0xa"},
			[]uint8{0, plain}, nil, []string{"0xa"}, 1},
		{"a prefix not read holds nothing", nil, []string{"0xd"}, []uint8{0}, nil, nil, 1},
		{"a listed base", nil, []string{"0xx", "0xx"}, []uint8{listed, listed}, nil, nil, 1},
		{"written state is known", func() {
			e := taint.Effect{Key: "k2", Taints: []rules.NewTaint{
				{Address: "f/0xb", Taint: src, Counter: "c1"},
				{Address: "p/counterparty/0xd", Taint: src}}}
			c.writing("c", []taint.Effect{e})
			apply(e)
			c.applied("c", []taint.Effect{e})
		}, []string{"0xb", "0xd"}, []uint8{fifo, 0}, nil, []string{"f/0xb"}, 1},
		{"a failed write's bases stay in the set, states are read again", func() {
			c.writing("c", []taint.Effect{{Key: "k3", Taints: []rules.NewTaint{
				{Address: "0xe", Taint: src}}}})
			c.invalidate("c")
		}, []string{"0xe", "0xa"}, []uint8{0, plain},
			[]string{"0xe", "f/0xe", "0xa", "f/0xa"}, []string{"0xa"}, 1},
		{"forget reads the set again", func() { c.forget("c") },
			[]string{"0xb"}, []uint8{fifo}, []string{"0xb", "f/0xb"}, []string{"f/0xb"}, 2},
		{"a full cache reads states again, not the set", func() { c.max = 1 },
			[]string{"0xb"}, []uint8{fifo}, []string{"0xb", "f/0xb"}, []string{"f/0xb"}, 2},
		{"a reload of the lists changes what is listed", func() { c.max = 4; relabel("0xb") },
			[]string{"0xx", "0xb"}, []uint8{0, fifo | listed}, nil, []string{"f/0xb"}, 2},
	}
	for _, tt := range tests {
		if tt.do != nil {
			tt.do()
		}
		store.asked = nil
		flags := lookup(tt.give...)
		if !slices.Equal(flags, tt.wantFlags) || !slices.Equal(store.asked, tt.wantAsked) ||
			store.scans != tt.wantScans {
			t.Fatalf("%s: flags %v, asked %q, %d scans; want %v, %q, %d", tt.name, flags,
				store.asked, store.scans, tt.wantFlags, tt.wantAsked, tt.wantScans)
		}
		for _, k := range tt.wantKnown {
			if got := cc.state(c.prefixes, k); got == nil || got.Root != "0xroot" {
				t.Fatalf("%s: %s not known", tt.name, k)
			}
		}
	}
	if cc.counters["c1"] != 1 {
		t.Fatalf("counters %v", cc.counters)
	}
	// The set itself says under which prefixes a base may hold something, as the last scan
	// read (after the failed write to 0xe, which the store does not hold).
	for base, want := range map[string]uint8{"0xa": plain, "0xb": fifo | listed,
		"0xc": fifo, "0xd": 0, "0xe": 0} {
		if f, _ := cc.bases.Get(cc.bases.Hash(base)); f != want {
			t.Errorf("set: %s has flags %b, want %b", base, f, want)
		}
	}
}
