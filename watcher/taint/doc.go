// Package taint keeps the rules' shared state per chain: which addresses hold watched funds
// (and how they came to), and which alerts each movement raised. Apply records a movement's
// effects and Undo removes them (for a movement a reorg orphaned), each in one atomic step,
// and both are idempotent, so that a redelivered or re-orphaned movement changes nothing.
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
	// Taints returns the taint of those of addrs that have one.
	Taints(ctx context.Context, chain string, addrs ...string) (map[string]rules.Taint, error)
	// Apply records what movement key did: new taint (an address keeps its first) and the
	// alerts it raised (encoded; kept only the first time).
	Apply(ctx context.Context, chain, key string, taints []rules.NewTaint, alerts []byte) error
	// ApplyAll applies several movements' effects, in order, in one round trip; each one is
	// atomic on its own. With a fence it writes nothing, and returns ErrFenced, unless the
	// fence's key holds the fence's holder: a worker that lost a chain's ownership while
	// stalled cannot write after another took over.
	ApplyAll(ctx context.Context, chain string, fence Fence, effects []Effect) error
	// Undo removes the taint that movement key created and returns the alerts it raised
	// (nil if none), which stay until Forget: a caller retracts them first, so that a crash
	// in between repeats the retraction instead of losing it.
	Undo(ctx context.Context, chain, key string) ([]byte, error)
	// Forget drops the alerts recorded for movement key.
	Forget(ctx context.Context, chain, key string) error
}
