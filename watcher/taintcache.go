package watcher

import (
	"context"

	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
)

// DefaultTaintCache is how many bases (addresses, outpoints) per chain a worker remembers
// the state of.
const DefaultTaintCache = 1 << 20

// taintCache is what a worker knows of its chains' state in the taint store, and of their
// counters, so that it does not ask the store again. It is kept by base (rules.SplitKey):
// for each base looked up, whether it holds anything under the prefixes the worker reads
// and whether the lists name it, and the state of each of its keys that holds some. Nearly
// every base holds nothing and is on no list, and one lookup of the base says so: the rules
// need not be asked about a movement whose bases are all such (rules.AppendBases).
//
// It is sound because one worker owns a chain (Owner) and only the owner writes the chain's
// state: what the owner read or wrote stays true while it keeps the chain. It is emptied
// when the worker takes a chain over or loses it, after a failure (a write may or may not
// have gone through) and after a retraction (which restores older state). It is bounded:
// when a chain's bases reach max it is emptied and refills from the store; and it starts
// again when the lists change (a reload). Run's goroutine only.
type taintCache struct {
	max      int      // bases per chain; < 0: no cache
	prefixes []string // the prefixes of the keys read
	lists    Lists
	version  uint64 // of the lists the cache's listed flags come from
	chains   map[string]*chainCache
}

// What a chain cache knows of a base.
const (
	baseHeld   = 1 << iota // it holds something under the prefixes read
	baseListed             // a list names it (Lists.Listed)
)

type chainCache struct {
	// seen holds, for every base looked up, what is known of it (baseHeld, baseListed).
	seen *baseSet
	// known holds the state of the keys (prefix and base, of the bases seen) that hold
	// some. (Pointers keep the map's slots small.)
	known    map[string]*rules.Taint
	counters map[string]int64
	// recheck: the cache was emptied, so the entries about to be processed may be ones
	// that were applied before (redelivered after a failure or a take-over).
	recheck bool
}

func newTaintCache(max int, prefixes []string, lists Lists) *taintCache {
	return &taintCache{max: max, prefixes: prefixes, lists: lists,
		version: lists.Version(), chains: map[string]*chainCache{}}
}

// forget empties what the cache knows of chain.
func (c *taintCache) forget(chain string) { delete(c.chains, chain) }

// chain returns what is known of chain, loading its counters when nothing is.
func (c *taintCache) chain(ctx context.Context, store taint.Store, name string) (
	*chainCache, error) {
	if v := c.lists.Version(); v != c.version { // reloaded: the listed flags are stale
		for _, cc := range c.chains {
			cc.seen, cc.known = newBaseSet(), map[string]*rules.Taint{}
		}
		c.version = v
	}
	cc := c.chains[name]
	if cc != nil && (c.max < 0 || cc.seen.len() < c.max) {
		return cc, nil
	}
	if cc != nil { // full: start again from the store, keeping what needs no read
		cc.seen, cc.known = newBaseSet(), map[string]*rules.Taint{}
		return cc, nil
	}
	counters, err := store.Tracked(ctx, name)
	if err != nil {
		return nil, err
	}
	cc = &chainCache{seen: newBaseSet(), known: map[string]*rules.Taint{},
		counters: counters, recheck: true}
	c.chains[name] = cc
	return cc, nil
}

// lookup makes sure the cache knows the state of bases, asking the store only about bases
// it has not seen (every prefix of each), and appends to flags, per base, what is known of
// it (baseHeld, baseListed). What it returns is good until the next call.
func (c *taintCache) lookup(ctx context.Context, store taint.Store, chain string,
	bases []string, flags []uint8) (*chainCache, []uint8, error) {
	cc, err := c.chain(ctx, store, chain)
	if err != nil {
		return nil, flags, err
	}
	if c.max < 0 { // no cache: what is read serves this batch only
		cc.seen, cc.known = newBaseSet(), map[string]*rules.Taint{}
	}
	start := len(flags)
	var ask []string
	for _, b := range bases {
		r, f, ok := cc.seen.find(b)
		if !ok {
			if c.lists.Listed(chain, b) {
				f = baseListed
			}
			cc.seen.put(r, f) // and what the store holds, asked below; may pass max by a batch
			for _, p := range c.prefixes {
				ask = append(ask, p+b)
			}
		}
		flags = append(flags, f)
	}
	if len(ask) == 0 {
		return cc, flags, nil
	}
	got, err := store.Taints(ctx, chain, ask...)
	if err != nil {
		c.forget(chain) // the placeholders are not known
		return nil, flags, err
	}
	if len(got) == 0 {
		return cc, flags, nil
	}
	held := make(map[string]bool, len(got))
	for k, t := range got {
		_, b := rules.SplitKey(k)
		cc.seen.or(b, baseHeld)
		cc.known[k], held[b] = &t, true
	}
	for i, b := range bases { // a base asked for may come more than once
		if held[b] {
			flags[start+i] |= baseHeld
		}
	}
	return cc, flags, nil
}

// applied records state that the store accepted: each write replaces what the key held,
// and a key new to the store adds to its counter, as in the store. Writes under prefixes
// the worker does not read are not kept.
func (c *taintCache) applied(chain string, effects []taint.Effect) {
	cc := c.chains[chain]
	if cc == nil {
		return
	}
	for _, e := range effects {
		for _, nt := range e.Taints { // a copy: the worker reuses the effects' taints
			p, b := rules.SplitKey(nt.Address)
			if !c.reads(p) {
				continue
			}
			if _, ok := cc.seen.get(b); !ok { // the store alone knows the base's other keys
				c.forget(chain)
				return
			}
			if cc.known[nt.Address] == nil && nt.Counter != "" {
				cc.counters[nt.Counter]++
			}
			cc.seen.or(b, baseHeld)
			cc.known[nt.Address] = &nt.Taint
		}
	}
}

// reads says whether keys under prefix are read.
func (c *taintCache) reads(prefix string) bool {
	for _, p := range c.prefixes {
		if p == prefix {
			return true
		}
	}
	return false
}
