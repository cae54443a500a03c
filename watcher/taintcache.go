package watcher

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/internal/fpset"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
)

// DefaultTaintCache is how many bases (addresses, outpoints) that hold something a worker
// keeps the state of per chain, once read.
const DefaultTaintCache = 1 << 20

// taintCache is what a worker knows of its chains' state in the taint store, so that it
// asks the store only about bases (rules.SplitKey) that hold something. Per chain it keeps:
//
//   - bases: a set of every base that holds anything under the prefixes the worker reads,
//     with a flag per prefix it holds something under (heldBit), read from the store
//     (Store.Keys) when the worker comes to own the chain and kept current by its writes,
//     and of every address the lists name (baseListed),
//     read again when the lists' Version changes. It may hold more (a fingerprint taken for
//     another's, a base whose taint a reorg undid), which costs a read of the store; never
//     less. Nearly every base of a movement is in neither, which one lookup in memory says:
//     the store is not asked about it, and the rules are not asked about a movement whose
//     bases are all such (rules.AppendBases).
//   - known: the states, read or written, of the keys of each held base read (at most max
//     bases; nil for a key that holds nothing), and the chain's counters.
//
// It is sound because one worker owns a chain (Owner) and only the owner writes the chain's
// state: what the owner read or wrote stays true while it keeps the chain. The set is built
// again when the worker takes a chain over or loses it; the states and counters are read
// again after a failure (a write may or may not have gone through: the bases it writes
// join the set before it is tried, see writing) and after a retraction (which restores
// older state, of bases in the set). Run's goroutine only.
type taintCache struct {
	max      int      // bases per chain whose state is kept; < 0: none past a batch
	prefixes []string // the prefixes of the keys read
	lists    Lists
	log      *zap.Logger
	chains   map[string]*chainCache
	ask      []string       // scratch: the keys a lookup asks the store for
	held     []heldBase     // scratch: the held bases a lookup looks up
	hashes   []uint64       // scratch: the fingerprints of the bases a lookup looks up
	reading  []*rules.Taint // scratch: the held states readAhead reads
	sink     uint64         // what readAhead read, summed
}

// What a chain cache knows of a base: whether a list names it, and under which of the
// prefixes read it holds something (heldBit; baseHeld: under any).
const (
	baseListed = 1
	baseHeld   = fpset.FlagMask &^ baseListed
)

// heldBit is the flag of a base that holds something under the i-th prefix read; the
// prefixes past the seventh share the last flag.
func heldBit(i int) uint8 { return 2 << min(i, fpset.FlagBits-2) }

type chainCache struct {
	bases  *fpset.Set // the bases that may hold something, and the listed ones
	listed uint64     // the lists' Version that bases' listed flags come from
	// known holds, for each base read (loaded of them) or written, the states of its keys
	// under the prefixes read: one record a base, so that one lookup finds them all.
	known    map[string]states
	loaded   int
	counters map[string]int64 // nil: to be read
	// recheck: the cache was emptied, so the entries about to be processed may be ones
	// that were applied before (redelivered after a failure or a take-over).
	recheck bool
}

func newTaintCache(max int, prefixes []string, lists Lists, log *zap.Logger) *taintCache {
	return &taintCache{max: max, prefixes: prefixes, lists: lists, log: log,
		chains: map[string]*chainCache{}}
}

// forget drops all the cache knows of chain: the set of bases is read again.
func (c *taintCache) forget(chain string) { delete(c.chains, chain) }

// invalidate drops the states and counters of chain, keeping its set of bases, which the
// caller knows to hold every base that holds something.
func (c *taintCache) invalidate(chain string) {
	if cc := c.chains[chain]; cc != nil {
		cc.known, cc.loaded, cc.counters, cc.recheck = map[string]states{}, 0, nil, true
	}
}

// chain returns what is known of chain, reading from the store what is not.
func (c *taintCache) chain(ctx context.Context, store taint.Store, name string) (
	*chainCache, error) {
	cc := c.chains[name]
	if cc == nil {
		start := time.Now()
		set := fpset.New()
		err := store.Keys(ctx, name, func(k string) {
			p, b := rules.SplitKey(k)
			if bit := c.bit(p); bit != 0 {
				set.Or(set.Hash(b), bit)
			}
		})
		if err != nil {
			return nil, err
		}
		c.log.Info("read which bases hold taint", zap.String("chain", name),
			zap.Int("bases", set.Len()), zap.Int("bytes", set.Bytes()),
			zap.Duration("took", time.Since(start)))
		cc = &chainCache{bases: set, known: map[string]states{}, recheck: true}
		cc.relist(c.lists, name)
		c.chains[name] = cc
	}
	if cc.counters == nil {
		counters, err := store.Tracked(ctx, name)
		if err != nil {
			return nil, err
		}
		cc.counters = counters
	}
	if c.lists.Version() != cc.listed {
		cc.relist(c.lists, name)
	}
	if c.max < 0 || cc.loaded >= c.max { // full: read again what is asked
		cc.known, cc.loaded = map[string]states{}, 0
	}
	return cc, nil
}

// relist sets the listed flags from what the lists name now.
func (cc *chainCache) relist(lists Lists, chain string) {
	cc.listed = lists.Version() // first: a reload meanwhile shows as a change
	cc.bases.Clear(baseListed)
	lists.EachListed(chain, func(a string) { cc.bases.Or(cc.bases.Hash(a), baseListed) })
}

// heldBase is a held base that a lookup looks up: where its flags are, and its states
// (the store's read fills them in place).
type heldBase struct {
	at int
	st states
}

// states holds the states of a base's keys, one per prefix read in the order of
// taintCache.prefixes: nil for a key that holds nothing. (Pointers keep it small.)
type states []*rules.Taint

// lazyBase is a base to look up only if another of the same movement is listed
// (rules.Bases.Append): at is its place among the bases looked up, guard the other's.
type lazyBase struct{ at, guard int }

// lookup makes sure the cache knows the state of those of bases that may hold something,
// asking the store about each one it has not read (every prefix of it), and appends to
// flags, per base, what is known of it (baseHeld, baseListed). A lazy base, in the order of
// bases, is looked up only if its guard is listed; otherwise its flags and its fingerprint
// in c.hashes are 0: it counts as holding nothing. What it returns is good until the next
// call.
func (c *taintCache) lookup(ctx context.Context, store taint.Store, chain string,
	bases []string, lazy []lazyBase, flags []uint8) (*chainCache, []uint8, error) {
	cc, err := c.chain(ctx, store, chain)
	if err != nil {
		return nil, flags, err
	}
	start := len(flags)
	c.hashes = c.hashes[:0]
	next := 0 // the next lazy base
	for i, b := range bases {
		if next < len(lazy) && lazy[next].at == i {
			next++
			c.hashes = append(c.hashes, 0) // fpset.Set.GetAll: no lookup
			continue
		}
		c.hashes = append(c.hashes, cc.bases.Hash(b))
	}
	flags = cc.bases.GetAll(c.hashes, flags)
	for _, l := range lazy {
		if flags[start+l.guard]&baseListed != 0 {
			h := cc.bases.Hash(bases[l.at])
			c.hashes[l.at] = h
			flags[start+l.at], _ = cc.bases.Get(h)
		}
	}
	c.ask, c.held = c.ask[:0], c.held[:0]
	for i, f := range flags[start:] {
		if f&baseHeld == 0 {
			continue
		}
		b := bases[i]
		st, ok := cc.known[b]
		if !ok {
			for _, p := range c.prefixes {
				c.ask = append(c.ask, p+b)
			}
			// None known yet (the read fills it in), and a base asked for again is not
			// asked twice.
			st = make(states, len(c.prefixes))
			cc.known[b] = st
			cc.loaded++
		}
		c.held = append(c.held, heldBase{start + i, st})
	}
	if len(c.ask) > 0 {
		got, err := store.Taints(ctx, chain, c.ask...)
		if err != nil {
			c.invalidate(chain) // the placeholders are not known
			return nil, flags, err
		}
		for k, t := range got {
			p, b := rules.SplitKey(k)
			cc.known[b][prefixIndex(c.prefixes, p)] = &t
		}
	}
	for _, h := range c.held { // the held flags say exactly what each base holds
		flags[h.at] = flags[h.at]&baseListed | h.st.heldBits()
	}
	c.readAhead()
	return cc, flags, nil
}

// heldBits is the held flags of the base whose states st are: those of the prefixes it
// holds something under.
func (st states) heldBits() uint8 {
	var f uint8
	for i, t := range st {
		if t != nil {
			f |= heldBit(i)
		}
	}
	return f
}

// writing adds to the set the bases that effects write under the prefixes read, with the
// flag of each prefix written, before the write is tried: whether or not it goes through,
// the set then holds them.
func (c *taintCache) writing(chain string, effects []taint.Effect) {
	cc := c.chains[chain]
	if cc == nil {
		return // the set is read from the store when next needed
	}
	for _, e := range effects {
		for _, nt := range e.Taints {
			p, b := rules.SplitKey(nt.Address)
			bit := c.bit(p)
			if bit == 0 {
				continue
			}
			h := cc.bases.Hash(b)
			if f, _ := cc.bases.Get(h); f&baseHeld == 0 {
				// It holds nothing (the set would say so), so the state of each of its
				// keys is known: none, until applied says what was written.
				cc.known[b] = make(states, len(c.prefixes))
				cc.loaded++
			}
			cc.bases.Or(h, bit)
		}
	}
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
			i := prefixIndex(c.prefixes, p)
			if i < 0 {
				continue
			}
			st := cc.known[b]
			if st == nil { // the store alone knows the base's other keys
				c.invalidate(chain)
				return
			}
			if st[i] == nil && nt.Counter != "" {
				cc.counters[nt.Counter]++
			}
			st[i] = &nt.Taint
		}
	}
}

// bit is the held flag of prefix (heldBit); 0 if keys under prefix are not read.
func (c *taintCache) bit(prefix string) uint8 { return prefixBit(c.prefixes, prefix) }

// prefixBit is the held flag of prefix among the prefixes read; 0 if it is not one.
func prefixBit(prefixes []string, prefix string) uint8 {
	if i := prefixIndex(prefixes, prefix); i >= 0 {
		return heldBit(i)
	}
	return 0
}

// prefixIndex is where prefix is among the prefixes read; -1 if it is not one.
func prefixIndex(prefixes []string, prefix string) int {
	for i, p := range prefixes {
		if p == prefix {
			return i
		}
	}
	return -1
}
