package watcher

import (
	"context"

	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
)

// DefaultTaintCache is how many addresses per chain a worker remembers the taint of.
const DefaultTaintCache = 1 << 20

// taintCache is what a worker knows of the taint of its chains' addresses, tainted or not,
// so that it does not ask the store again. It is sound because one worker owns a chain
// (Owner) and only the owner writes the chain's taint: what the owner read or wrote stays
// true while it keeps the chain. It is emptied when the worker takes a chain over or loses
// it, after a failure (a write may or may not have gone through) and after a retraction
// (which deletes taint). It is bounded: when a chain's map is full it is emptied and
// refills from the store. Run's goroutine only.
type taintCache struct {
	max    int // entries per chain; < 0: no cache
	chains map[string]map[string]cachedTaint
}

type cachedTaint struct {
	t       rules.Taint
	tainted bool
}

func newTaintCache(max int) *taintCache {
	return &taintCache{max: max, chains: map[string]map[string]cachedTaint{}}
}

// forget empties what the cache knows of chain.
func (c *taintCache) forget(chain string) { delete(c.chains, chain) }

func (c *taintCache) chain(name string) map[string]cachedTaint {
	m := c.chains[name]
	if m == nil || len(m) >= c.max { // empty is always sound: the store has the truth
		m = map[string]cachedTaint{}
		c.chains[name] = m
	}
	return m
}

// lookup makes sure the cache knows the taint of addrs, asking store only about those it
// does not know, and returns a reader of it. The reader is good until the next call.
func (c *taintCache) lookup(ctx context.Context, store taint.Store, chain string,
	addrs []string) (func(string) (rules.Taint, bool), error) {
	if c.max < 0 {
		m, err := store.Taints(ctx, chain, addrs...)
		return func(a string) (rules.Taint, bool) { t, ok := m[a]; return t, ok }, err
	}
	known := c.chain(chain)
	var ask []string
	for _, a := range addrs {
		if _, ok := known[a]; !ok {
			known[a] = cachedTaint{} // asked below; may pass max by one batch
			ask = append(ask, a)
		}
	}
	if len(ask) > 0 {
		got, err := store.Taints(ctx, chain, ask...)
		if err != nil {
			c.forget(chain) // the placeholders are not known
			return nil, err
		}
		for a, t := range got {
			known[a] = cachedTaint{t: t, tainted: true}
		}
	}
	return func(a string) (rules.Taint, bool) { k := known[a]; return k.t, k.tainted }, nil
}

// applied records taint that the store accepted. An address keeps its first taint, as in
// the store.
func (c *taintCache) applied(chain string, effects []taint.Effect) {
	if c.max < 0 {
		return
	}
	known := c.chain(chain)
	for _, e := range effects {
		for _, nt := range e.Taints {
			if k, ok := known[nt.Address]; !ok || !k.tainted {
				known[nt.Address] = cachedTaint{t: nt.Taint, tainted: true}
			}
		}
	}
}
