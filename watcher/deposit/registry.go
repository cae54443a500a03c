package deposit

import (
	"context"
	"encoding/json"
	"errors"
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

// Registry holds the registered deposit addresses: in Redis (a hash per chain and a
// version counter, under the hash tag {deposits}) when it has a client, and in memory for
// lookups, which never touch Redis. A change made through this Registry shows at once; one
// made by another process shows after its next Sync. Version changes with every change
// seen, so that caches of what the lists say start again. Safe for concurrent use.
type Registry struct {
	rdb    redis.UniversalClient // nil: memory only
	prefix string

	mu      sync.RWMutex
	byChain map[string]map[string]Registration
	remote  int64  // the Redis version the mirror was read at
	version uint64 // local: bumped by every change the mirror takes
	// While Syncs read (reading of them), the changes made through this Registry, to
	// make again over what they read.
	reading int
	during  []change
}

// change is a registration made, or (deleted) unmade, through a Registry.
type change struct {
	Registration
	deleted bool
}

// NewRegistry returns a registry in rdb under prefix (default "fw"), or in memory only when
// rdb is nil.
func NewRegistry(rdb redis.UniversalClient, prefix string) *Registry {
	if prefix == "" {
		prefix = "fw"
	}
	return &Registry{rdb: rdb, prefix: prefix, byChain: map[string]map[string]Registration{},
		remote: -1}
}

func (r *Registry) key(what string) string { return r.prefix + ":{deposits}:" + what }

// Put registers (or re-registers) deposit addresses.
func (r *Registry) Put(ctx context.Context, regs ...Registration) error {
	if len(regs) == 0 {
		return nil
	}
	if r.rdb != nil {
		pipe := r.rdb.TxPipeline()
		for _, g := range regs {
			b, err := json.Marshal(g)
			if err != nil {
				return err
			}
			pipe.HSet(ctx, r.key("registered:"+g.Chain), g.Address, b)
			pipe.SAdd(ctx, r.key("chains"), g.Chain)
		}
		pipe.Incr(ctx, r.key("version"))
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("register deposit addresses: %w", err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, g := range regs {
		if r.byChain[g.Chain] == nil {
			r.byChain[g.Chain] = map[string]Registration{}
		}
		r.byChain[g.Chain][g.Address] = g
		if r.reading > 0 {
			r.during = append(r.during, change{Registration: g})
		}
	}
	r.version++
	return nil
}

// Delete unregisters a deposit address; it reports whether it was registered.
func (r *Registry) Delete(ctx context.Context, chain, addr string) (bool, error) {
	was := false
	if r.rdb != nil {
		pipe := r.rdb.TxPipeline()
		del := pipe.HDel(ctx, r.key("registered:"+chain), addr)
		pipe.Incr(ctx, r.key("version"))
		if _, err := pipe.Exec(ctx); err != nil {
			return false, fmt.Errorf("unregister deposit address: %w", err)
		}
		was = del.Val() == 1
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byChain[chain][addr]; ok {
		was = true
		delete(r.byChain[chain], addr)
	}
	if r.reading > 0 {
		r.during = append(r.during, change{Registration: Registration{Chain: chain,
			Address: addr}, deleted: true})
	}
	r.version++
	return was, nil
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

// Sync reads the registrations from Redis when another process changed them since the last
// read (the version counter says so). A change made through this Registry while it reads
// may be missing from what it read: it is made again over what was read.
func (r *Registry) Sync(ctx context.Context) error {
	if r.rdb == nil {
		return nil
	}
	r.mu.Lock()
	r.reading++
	r.mu.Unlock()
	all, v, err := r.read(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reading--; r.reading == 0 {
		defer func() { r.during = r.during[:0] }()
	}
	if err != nil || all == nil {
		return err
	}
	for _, c := range r.during {
		if c.deleted {
			delete(all[c.Chain], c.Address)
			continue
		}
		if all[c.Chain] == nil {
			all[c.Chain] = map[string]Registration{}
		}
		all[c.Chain][c.Address] = c.Registration
	}
	r.byChain, r.remote = all, v
	r.version++
	return nil
}

// read reads the registrations from Redis, and the version they are at, unless the version
// is the one last read (all is then nil).
func (r *Registry) read(ctx context.Context) (map[string]map[string]Registration, int64,
	error) {
	v, err := r.rdb.Get(ctx, r.key("version")).Int64()
	if errors.Is(err, redis.Nil) {
		v, err = 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("deposit registry version: %w", err)
	}
	r.mu.RLock()
	same := v == r.remote
	r.mu.RUnlock()
	if same {
		return nil, v, nil
	}
	chains, err := r.rdb.SMembers(ctx, r.key("chains")).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("deposit registry: %w", err)
	}
	all := map[string]map[string]Registration{}
	for _, c := range chains {
		vals, err := r.rdb.HGetAll(ctx, r.key("registered:"+c)).Result()
		if err != nil {
			return nil, 0, fmt.Errorf("deposit registry of %s: %w", c, err)
		}
		all[c] = map[string]Registration{}
		for addr, raw := range vals {
			var g Registration
			if err := json.Unmarshal([]byte(raw), &g); err != nil {
				return nil, 0, fmt.Errorf("deposit registry of %s: %s: %w", c, addr, err)
			}
			all[c][addr] = g
		}
	}
	return all, v, nil
}

// Run syncs every interval (0: DefaultSyncInterval) until ctx ends; it returns ctx's
// error. A failed sync keeps what is in memory and tries again.
func (r *Registry) Run(ctx context.Context, interval time.Duration, warn func(error)) error {
	if interval == 0 {
		interval = DefaultSyncInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := r.Sync(ctx); err != nil && ctx.Err() == nil && warn != nil {
			warn(err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
