package deposit

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowwatch/flowwatch/watcher/rules"
)

// ListRegistered names the list of registered deposit addresses in labels.
const ListRegistered = "registered"

// Registration is a deposit address an exchange registered with flowwatch, so that
// tainted funds arriving there alert naming its customer.
type Registration struct {
	Chain    string    `json:"chain"`
	Address  string    `json:"address"` // normalized for the chain
	Customer string    `json:"customer_ref"`
	At       time.Time `json:"registered_at"`
}

// Label is the label a registration gives its address: the exchange's own deposit
// address, naming the customer.
func (r Registration) Label() rules.Label {
	return rules.Label{Category: rules.CategoryExchangeDeposit,
		Entity: "registered deposit address (customer " + r.Customer + ")",
		List:   ListRegistered}
}

// DefaultSyncInterval is how often a Registry reads what other processes registered.
const DefaultSyncInterval = 2 * time.Second

// DefaultChangesKept is about how many changes the change stream keeps: a Registry that
// fell further behind (a process stopped meanwhile) reads every registration again.
const DefaultChangesKept = 100_000

// Registry holds the registered deposit addresses: in Redis when it has a client, and in
// memory for lookups, which never touch Redis. In Redis (under the hash tag {deposits}) a
// hash per chain holds the registrations, and a stream the changes, each added in the same
// transaction as the change it records; a Sync reads only the changes since the last one
// it read (every registration only the first time, or when the stream no longer holds the
// changes since: see DefaultChangesKept). An exchange registers new deposit addresses all
// day: reading them all at every change would cost each process seconds per Sync at a
// million of them, and Redis as long, which its queue shares. A change made through this
// Registry shows at once; one made by another process shows after its next Sync. Version
// changes with every change seen, so that caches of what the lists say start again. Safe
// for concurrent use.
type Registry struct {
	rdb    redis.UniversalClient // nil: memory only
	prefix string
	kept   int64 // DefaultChangesKept; a field, so that a test can trim the stream

	syncMu  sync.Mutex // held by Sync
	mu      sync.RWMutex
	byChain map[string]map[string]Registration
	seen    string // the ID of the last change read from the stream; "": none read yet
	version uint64 // local: bumped by every change the mirror takes
	// While Syncs read (reading of them), the changes made through this Registry, to
	// make again over what they read if it came before them.
	reading int
	during  []change
}

// change is a registration made, or (deleted) unmade, by the change of stream ID id.
type change struct {
	Registration
	deleted bool
	id      string
}

// NewRegistry returns a registry in rdb under prefix (default "fw"), or in memory only when
// rdb is nil.
func NewRegistry(rdb redis.UniversalClient, prefix string) *Registry {
	if prefix == "" {
		prefix = "fw"
	}
	return &Registry{rdb: rdb, prefix: prefix, kept: DefaultChangesKept,
		byChain: map[string]map[string]Registration{}}
}

func (r *Registry) key(what string) string { return r.prefix + ":{deposits}:" + what }

// logChange adds the change of addr on chain to the change stream, in pipe: with the
// registration's JSON, or with none for a deletion.
func (r *Registry) logChange(ctx context.Context, pipe redis.Pipeliner, chain, addr string,
	reg []byte) *redis.StringCmd {
	values := []any{fieldChain, chain, fieldAddress, addr}
	if reg != nil {
		values = append(values, fieldRegistration, reg)
	}
	return pipe.XAdd(ctx, &redis.XAddArgs{Stream: r.key("changes"), MaxLen: r.kept,
		Approx: true, Values: values})
}

// Put registers (or re-registers) deposit addresses.
func (r *Registry) Put(ctx context.Context, regs ...Registration) error {
	if len(regs) == 0 {
		return nil
	}
	changes := make([]change, len(regs))
	if r.rdb != nil {
		pipe := r.rdb.TxPipeline()
		ids := make([]*redis.StringCmd, len(regs))
		for i, g := range regs {
			b, err := json.Marshal(g)
			if err != nil {
				return err
			}
			pipe.HSet(ctx, r.key("registered:"+g.Chain), g.Address, b)
			pipe.SAdd(ctx, r.key("chains"), g.Chain)
			ids[i] = r.logChange(ctx, pipe, g.Chain, g.Address, b)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("register deposit addresses: %w", err)
		}
		for i := range ids {
			changes[i].id = ids[i].Val()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, g := range regs {
		changes[i].Registration = g
		r.apply(changes[i])
		if r.reading > 0 {
			r.during = append(r.during, changes[i])
		}
	}
	r.version++
	return nil
}

// Delete unregisters a deposit address; it reports whether it was registered.
func (r *Registry) Delete(ctx context.Context, chain, addr string) (bool, error) {
	was := false
	c := change{Registration: Registration{Chain: chain, Address: addr}, deleted: true}
	if r.rdb != nil {
		pipe := r.rdb.TxPipeline()
		del := pipe.HDel(ctx, r.key("registered:"+chain), addr)
		id := r.logChange(ctx, pipe, chain, addr, nil)
		if _, err := pipe.Exec(ctx); err != nil {
			return false, fmt.Errorf("unregister deposit address: %w", err)
		}
		was, c.id = del.Val() == 1, id.Val()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byChain[chain][addr]; ok {
		was = true
	}
	r.apply(c)
	if r.reading > 0 {
		r.during = append(r.during, c)
	}
	r.version++
	return was, nil
}

// apply makes c in memory; r.mu must be held.
func (r *Registry) apply(c change) {
	m := r.byChain[c.Chain]
	if c.deleted {
		delete(m, c.Address)
		return
	}
	if m == nil {
		m = map[string]Registration{}
		r.byChain[c.Chain] = m
	}
	m[c.Address] = c.Registration
}

// Get returns an address's registration, from memory.
func (r *Registry) Get(chain, addr string) (Registration, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	g, ok := r.byChain[chain][addr]
	return g, ok
}

// Each calls fn with every address registered on chain, from memory; fn must not call the
// registry.
func (r *Registry) Each(chain string, fn func(addr string)) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for a := range r.byChain[chain] {
		fn(a)
	}
}

// Len returns how many addresses are registered, from memory.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n := 0
	for _, m := range r.byChain {
		n += len(m)
	}
	return n
}

// Version changes with every change the registry's memory takes.
func (r *Registry) Version() uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.version
}

// Run syncs every interval (0: DefaultSyncInterval) until ctx ends, the first time one
// interval after it starts (a process syncs once before: see Sync); it returns ctx's
// error. A failed sync keeps what is in memory and tries again.
func (r *Registry) Run(ctx context.Context, interval time.Duration, warn func(error)) error {
	if interval == 0 {
		interval = DefaultSyncInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if err := r.Sync(ctx); err != nil && ctx.Err() == nil && warn != nil {
			warn(err)
		}
	}
}
