// Package taint keeps the rules' shared state per chain: the taint on each key (an address or
// a Bitcoin output under a model, see rules.ModelKey: how watched funds reached it and how
// much of what it holds they are), how many keys each source's funds reached under each
// model, and what each movement did. Apply records a movement's effects with what they
// overwrote, and Undo restores that (for a movement a reorg orphaned; movements are undone
// newest first), each in one atomic step; both are idempotent, so that a redelivered or
// re-orphaned movement changes nothing.
//
// Redis keeps it for several workers (keys hash-tagged by chain); Memory for the embedded
// default. Both are safe for concurrent use.
package taint

import (
	"context"
	"errors"

	"github.com/flowwatch/flowwatch/watcher/rules"
)

// Effect is what one movement did, for ApplyAll.
type Effect struct {
	Key    string
	Taints []rules.NewTaint
	Alerts []byte
}

// Fence guards a write by ownership: Key must hold Holder (the chain's owner key and the
// writing worker's name). The zero Fence guards nothing.
type Fence struct {
	Key, Holder string
}

// ErrFenced is returned by ApplyAll when the fence no longer holds: the caller lost the
// chain and must stop writing for it.
var ErrFenced = errors.New("fenced: the chain has another owner")

// Store is the rules' shared state.
type Store interface {
	// Taints returns the taint of those of keys that have one.
	Taints(ctx context.Context, chain string, keys ...string) (map[string]rules.Taint, error)
	// Keys calls fn with every key of chain that holds a taint, in no order; a key written
	// or dropped while it runs may be passed or not. A worker that owns the chain (the only
	// writer) learns from it which bases hold anything.
	Keys(ctx context.Context, chain string, fn func(key string)) error
	// Tracked returns the chain's counters (rules.Counter: keys added per source and model).
	Tracked(ctx context.Context, chain string) (map[string]int64, error)
	// Apply records what movement key did: taint written (replacing what each key held; a
	// key new to the store adds one to its counter) and the alerts it raised (encoded).
	// A movement is applied once: applying it again changes nothing.
	Apply(ctx context.Context, chain, key string, taints []rules.NewTaint, alerts []byte) error
	// Recorded returns, for those of the movement keys that are applied, the alerts they
	// raised (empty if none): a worker taking over a chain skips what was applied and
	// delivers those alerts again (the dedup stage drops what was delivered).
	Recorded(ctx context.Context, chain string, keys ...string) (map[string][]byte, error)
	// ApplyAll applies several movements' effects, in order, in one round trip; each one is
	// atomic on its own. With a fence it writes nothing, and returns ErrFenced, unless the
	// fence's key holds the fence's holder: a worker that lost a chain's ownership while
	// stalled cannot write after another took over.
	ApplyAll(ctx context.Context, chain string, fence Fence, effects []Effect) error
	// Undo restores what movement key overwrote, takes back the counts of the keys it
	// added, and returns the alerts it raised (nil if none), which stay until Forget: a
	// caller retracts them first, so that a crash in between repeats the retraction
	// instead of losing it. Movements are undone newest first.
	Undo(ctx context.Context, chain, key string) ([]byte, error)
	// Forget drops the alerts recorded for movement key.
	Forget(ctx context.Context, chain, key string) error
}
