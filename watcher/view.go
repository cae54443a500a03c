package watcher

import (
	"context"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/internal/fpset"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/fanin"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// view is what the rules see of one batch's movements: the lists at the movement's time,
// the store's state as the batch found it, and what the batch wrote so far.
type view struct {
	lists Lists
	chain string
	cache *chainCache             // what the store held before the batch
	held  map[string]bool         // the batch's bases that hold anything, before or now
	added map[string]*rules.Taint // what the batch wrote so far
	// wrote holds, by their fingerprints in cache.bases, the bases the batch wrote to so
	// far, with the held flag of each prefix written.
	wrote    *fpset.Set
	prefixes []string         // the prefixes read, whose held flags are heldBit's
	counts   map[string]int64 // the keys the batch added, per counter
	// cur are the bases of the movement being judged, what the cache knows of each
	// (curFlags), and their fingerprints in cache.bases: Source and Label answer for one
	// that no list names without the lists, and Taint for one that holds nothing under a
	// prefix without the maps. (A reload of the lists takes effect from the next batch.)
	cur       []string
	curFlags  []uint8
	curHashes []uint64
	// infer: the chain infers deposit addresses; Label reads the inferences stored.
	infer   bool
	senders *fanin.Tracker // nil: no fan-in rule
	// node, if set, is asked what senders lacks (fanin.Tracker.SendersBack), under ctx,
	// the batch's; the first error it returns is lookErr, which fails the batch.
	node    fanin.Node
	ctx     context.Context
	lookErr error
	m       *chains.Movement // the movement being judged
	key     []byte           // scratch for a key looked up
	// readBack, while learners read back the movements judged before (warm), says which
	// stored inferences did not exist yet at the movement read back; nil when judging.
	readBack *readBack
}

// reset readies v for a batch on chain, judged under ctx, over what cc knows of the keys
// under prefixes, keeping its maps' room.
func (v *view) reset(ctx context.Context, lists Lists, chain string, cc *chainCache,
	prefixes []string, infer bool, senders *fanin.Tracker, node fanin.Node) {
	if v.held == nil {
		v.held, v.added, v.counts = map[string]bool{}, map[string]*rules.Taint{},
			map[string]int64{}
		v.wrote = fpset.New()
	}
	clear(v.held)
	v.wrote.Reset()
	clear(v.added)
	clear(v.counts)
	v.lists, v.chain, v.cache, v.prefixes = lists, chain, cc, prefixes
	v.infer, v.senders, v.node, v.ctx, v.lookErr = infer, senders, node, ctx, nil
	v.readBack = nil
}

// add makes taint the batch wrote visible to the rest of the batch; nt must stay as it is
// until the batch ends.
func (v *view) add(nt *rules.NewTaint) {
	p, b := rules.SplitKey(nt.Address)
	if _, had := v.Taint(p, b); !had && nt.Counter != "" {
		v.counts[nt.Counter]++
	}
	v.added[nt.Address] = &nt.Taint
	v.held[b] = true
	if bit := prefixBit(v.prefixes, p); bit != 0 {
		v.wrote.Or(v.cache.bases.Hash(b), bit)
	}
}

// flags is what is known of the i-th base of the movement being judged: curFlags, with
// the held flags of what the batch wrote to it. A lazy base not looked up (fingerprint 0,
// see taintCache.lookup) holds nothing, whatever the batch wrote to it.
func (v *view) flags(i int) uint8 {
	f := v.curFlags[i]
	if v.wrote.Len() > 0 && v.curHashes[i] != 0 {
		w, _ := v.wrote.Get(v.curHashes[i])
		f |= w
	}
	return f
}

// quiet says whether the rules can decide nothing about the movement being judged (see
// rules.AppendBases): none of its bases holds anything in the store or is listed (as the
// cache's lookup found), and none holds anything the batch wrote.
func (v *view) quiet() bool {
	for i := range v.cur {
		if v.flags(i) != 0 {
			return false
		}
	}
	return true
}

var _ rules.SenderView = (*view)(nil)

// Senders implements rules.SenderView. When the movement being judged pays a listed
// source and the chain has a node to ask, what the tracker does not remember is asked of
// it: payments to a listed source are few, payments to followed addresses are not.
func (v *view) Senders(a string) []rules.Hop {
	if v.senders == nil {
		return nil
	}
	if v.node == nil || v.lookErr != nil || !v.paysSource() {
		return v.senders.Senders(a, v.m.Block.Time)
	}
	hops, err := v.senders.SendersBack(v.ctx, v.node, a, v.m.Block)
	if err != nil {
		v.lookErr = err
		return nil
	}
	return hops
}

// paysSource says whether the movement being judged pays a listed source.
func (v *view) paysSource() bool {
	_, to, ok := v.m.Transfer()
	if !ok {
		return false
	}
	_, listed := v.Source(to.Address)
	return listed
}

// A view is handed to the rules as a pointer: as a value it would be copied to the heap
// for every movement.
var _ rules.View = (*view)(nil)

// judging readies v for movement m, with its bases, their flags and their fingerprints.
func (v *view) judging(m *chains.Movement, bases []string, flags []uint8, hashes []uint64) {
	v.m, v.cur, v.curFlags, v.curHashes = m, bases, flags, hashes
}

// cursor is where a is among the bases of the movement being judged; -1 if it is not one.
func (v *view) cursor(a string) int {
	for i, b := range v.cur {
		if b == a {
			return i
		}
	}
	return -1
}

// unlisted says whether a is a base of the movement being judged that no list names.
func (v *view) unlisted(a string) bool {
	i := v.cursor(a)
	return i >= 0 && v.curFlags[i]&baseListed == 0
}

// holds says whether base, a base of the batch, may hold anything under prefix, in the
// store or written by the batch. For a base of the movement being judged, as nearly all
// are, its flags say so, under that prefix; for another, the held map, under any.
func (v *view) holds(prefix, base string) bool {
	if i := v.cursor(base); i >= 0 {
		bit := prefixBit(v.prefixes, prefix)
		if bit == 0 {
			bit = baseHeld
		}
		return v.flags(i)&bit != 0
	}
	return v.held[base]
}

func (v *view) Source(a string) (rules.Source, bool) {
	if v.unlisted(a) {
		return rules.Source{}, false
	}
	return v.lists.SourceAt(v.chain, a, v.m.Block.Time)
}

var (
	_ deposit.QuietView = (*view)(nil)
	_ fanin.QuietView   = (*view)(nil)
)

// Quiet implements deposit.QuietView and fanin.QuietView: a base of the movement being
// judged is quiet when its flags say that no list names it and it holds nothing.
func (v *view) Quiet(a string) bool {
	i := v.cursor(a)
	if v.readBack != nil {
		if _, ok := v.readBack.inferred(a); ok {
			return false
		}
	}
	return i >= 0 && v.flags(i) == 0
}

// inferredPrefix is the prefix of the keys of inferred deposit addresses.
var inferredPrefix = deposit.Key("")

// Label is the address's label in the lists or, failing that, inferred (which the flags
// rule out for nearly every address before a state is copied out).
func (v *view) Label(a string) (rules.Label, bool) {
	if !v.unlisted(a) {
		if l, ok := v.lists.LabelAt(v.chain, a, v.m.Block.Time); ok {
			return l, true
		}
	}
	if v.readBack != nil {
		if t, ok := v.readBack.inferred(a); ok {
			return deposit.Label(t), true
		}
	}
	if !v.infer || !v.holds(inferredPrefix, a) {
		return rules.Label{}, false
	}
	t := v.stored(inferredPrefix, a)
	if t == nil || v.readBack != nil && v.readBack.later(t) {
		return rules.Label{}, false
	}
	return deposit.Label(*t), true
}

// Taint returns the state of a key of the batch's bases: the batch's, else the store's.
// Most bases hold nothing, which holds says without the cache's large map.
func (v *view) Taint(prefix, base string) (rules.Taint, bool) {
	if !v.holds(prefix, base) {
		return rules.Taint{}, false
	}
	if t := v.stored(prefix, base); t != nil {
		return *t, true
	}
	return rules.Taint{}, false
}

// stored is the state of a key of the batch's bases that holds says may hold something:
// the batch's, else the store's; nil if neither has one. The key is put together in a
// scratch buffer.
func (v *view) stored(prefix, base string) *rules.Taint {
	v.key = append(append(v.key[:0], prefix...), base...)
	if t := v.added[string(v.key)]; t != nil {
		return t
	}
	if i := prefixIndex(v.prefixes, prefix); i >= 0 {
		if st := v.cache.known[base]; st != nil {
			return st[i]
		}
	}
	return nil
}

func (v *view) Tracked(c string) int64 { return v.cache.counters[c] + v.counts[c] }
