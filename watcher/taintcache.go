package watcher

import (
	"context"

	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
)

// DefaultTaintCache is how many keys per chain a worker remembers the taint of.
const DefaultTaintCache = 1 << 20

// taintCache is what a worker knows of the taint of its chains' keys, tainted or not, and
// of their counters, so that it does not ask the store again. It is sound because one
// worker owns a chain (Owner) and only the owner writes the chain's taint: what the owner
// read or wrote stays true while it keeps the chain. It is emptied when the worker takes a
// chain over or loses it, after a failure (a write may or may not have gone through) and
// after a retraction (which restores older taint). It is bounded: when a chain's map is
// full it is emptied and refills from the store. Run's goroutine only.
type taintCache struct {
	max    int // entries per chain; < 0: no cache
	chains map[string]*chainCache
}

type chainCache struct {
	// known holds a key's taint, or nil for a key known to have none. (Pointers keep the
	// map's slots small: lookups touch fewer cache lines, and the collector scans less.)
	known map[string]*rules.Taint
	// batch holds, of the keys of the last lookup, those with taint: the rules read this
	// small map, not the large one, for a movement's keys.
	batch    map[string]*rules.Taint
	counters map[string]int64
	// recheck: the cache was emptied, so the entries about to be processed may be ones
	// that were applied before (redelivered after a failure or a take-over).
	recheck bool
}

func newTaintCache(max int) *taintCache {
	return &taintCache{max: max, chains: map[string]*chainCache{}}
}

// forget empties what the cache knows of chain.
func (c *taintCache) forget(chain string) { delete(c.chains, chain) }

// chain returns what is known of chain, loading its counters when nothing is.
func (c *taintCache) chain(ctx context.Context, store taint.Store, name string) (
	*chainCache, error) {
	cc := c.chains[name]
	if cc != nil && (c.max < 0 || len(cc.known) < c.max) {
		return cc, nil
	}
	if cc != nil { // full: start again from the store, keeping what needs no read
		cc.known = map[string]*rules.Taint{}
		return cc, nil
	}
	counters, err := store.Tracked(ctx, name)
	if err != nil {
		return nil, err
	}
	cc = &chainCache{known: map[string]*rules.Taint{}, counters: counters, recheck: true}
	c.chains[name] = cc
	return cc, nil
}

// lookup makes sure the cache knows the taint of keys, asking store only about those it
// does not know, and returns what it knows of the chain. That is good until the next call.
func (c *taintCache) lookup(ctx context.Context, store taint.Store, chain string,
	keys []string) (*chainCache, error) {
	cc, err := c.chain(ctx, store, chain)
	if err != nil {
		return nil, err
	}
	if c.max < 0 { // no cache: what is read serves this batch only
		cc.known = map[string]*rules.Taint{}
	}
	if cc.batch == nil {
		cc.batch = map[string]*rules.Taint{}
	}
	clear(cc.batch)
	var ask []string
	for _, a := range keys {
		t, ok := cc.known[a]
		switch {
		case !ok:
			cc.known[a] = nil // asked below; may pass max by one batch
			ask = append(ask, a)
		case t != nil:
			cc.batch[a] = t
		}
	}
	if len(ask) > 0 {
		got, err := store.Taints(ctx, chain, ask...)
		if err != nil {
			c.forget(chain) // the placeholders are not known
			return nil, err
		}
		for a, t := range got {
			cc.known[a], cc.batch[a] = &t, &t
		}
	}
	return cc, nil
}

// taint returns the taint of one of the last lookup's keys.
func (cc *chainCache) taint(key string) (rules.Taint, bool) {
	if t := cc.batch[key]; t != nil {
		return *t, true
	}
	return rules.Taint{}, false
}

// applied records taint that the store accepted: each write replaces what the key held,
// and a key new to the store adds to its counter, as in the store.
func (c *taintCache) applied(chain string, effects []taint.Effect) {
	cc := c.chains[chain]
	if cc == nil {
		return
	}
	for _, e := range effects {
		for _, nt := range e.Taints {
			if cc.known[nt.Address] == nil && nt.Counter != "" {
				cc.counters[nt.Counter]++
			}
			cc.known[nt.Address] = &nt.Taint
		}
	}
}
