package taint

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/flowwatch/flowwatch/internal/fpset"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// Defaults for IndexOptions.
const (
	DefaultIndexScan  = 5000             // fields per HSCAN
	DefaultIndexBlock = 2 * time.Second  // an XREAD's wait for new entries
	DefaultIndexRetry = 1 * time.Second  // the wait after a failure
	DefaultIndexBatch = int64(1000)      // feed entries per XREAD
	maxIndexRetry     = 30 * time.Second // the wait after repeated failures
)

// IndexOptions configure an Index.
type IndexOptions struct {
	Scan   int           // fields per HSCAN
	Block  time.Duration // an XREAD's wait for new entries
	Retry  time.Duration // the first wait after a failure (doubling up to 30 s)
	Logger *zap.Logger
}

func (o *IndexOptions) setDefaults() {
	if o.Scan == 0 {
		o.Scan = DefaultIndexScan
	}
	if o.Block == 0 {
		o.Block = DefaultIndexBlock
	}
	if o.Retry == 0 {
		o.Retry = DefaultIndexRetry
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
}

// Index is an in-memory set, per chain, of the addresses (and other bases but outpoints,
// see rules.SplitKey) that hold anything in a Redis store: the screening API asks the
// store only about addresses the index holds, and answers for the rest (nearly all) from
// memory. It scans the store's taint hash once, then follows the store's feed of written
// keys. Each feed entry carries a sequence number: an entry missed (the feed trimmed past
// where the index was, or emptied) makes it scan again. Until it has scanned, and while it
// scans again or cannot reach Redis, it does not know (Holds says so) and the caller asks
// the store. Keys the store drops (a reorg's undo) stay members: the store then answers
// that it holds nothing.
//
// Holds is safe for concurrent use with Run.
type Index struct {
	rdb    redis.UniversalClient
	store  *Redis
	chains []string
	opts   IndexOptions
	log    *zap.Logger

	mu   sync.RWMutex
	sets map[string]*fpset.Set // by chain; absent: not known
}

// NewIndex returns an index of store's chains; Run builds it and keeps it current.
func NewIndex(store *Redis, chains []string, opts IndexOptions) *Index {
	opts.setDefaults()
	return &Index{rdb: store.rdb, store: store, chains: chains, opts: opts,
		log: opts.Logger, sets: map[string]*fpset.Set{}}
}

// Holds reports whether base may hold something in chain's store; known is false when
// the index cannot tell (not built yet, scanning again, Redis unreachable).
func (x *Index) Holds(chain, base string) (holds, known bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s, ok := x.sets[chain]
	if !ok {
		return false, false
	}
	return s.Has(base), true
}

// IndexStats is what an index holds of a chain.
type IndexStats struct {
	Members int // addresses
	Bytes   int // the table's size
}

// Stats returns the stats of each chain the index knows.
func (x *Index) Stats() map[string]IndexStats {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := map[string]IndexStats{}
	for c, s := range x.sets {
		out[c] = IndexStats{Members: s.Len(), Bytes: s.Bytes()}
	}
	return out
}

// Run builds the index of every chain and follows the feeds until ctx ends.
func (x *Index) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range x.chains {
		g.Go(func() error { return x.follow(gctx, c) })
	}
	return g.Wait()
}

// errGap: the feed lost entries the index had not read.
var errGap = errors.New("the feed lost entries not yet read")

// follow keeps chain's set: scan, then follow the feed; on a failure, forget the set
// (not known), wait, and start again.
func (x *Index) follow(ctx context.Context, chain string) error {
	log := x.log.With(zap.String("chain", chain))
	wait := x.opts.Retry
	for {
		err := x.followOnce(ctx, chain, log)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		x.mu.Lock()
		delete(x.sets, chain)
		x.mu.Unlock()
		if errors.Is(err, errGap) {
			log.Info("taint index: scanning the store again", zap.Error(err))
			wait = x.opts.Retry
			continue
		}
		log.Warn("taint index: not known until Redis answers", zap.Error(err),
			zap.Duration("retry_in", wait))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, maxIndexRetry)
	}
}

// positionScript returns a chain's feed position at once: the sequence number of the
// last entry and its id. KEYS: the feed, its counter.
var positionScript = redis.NewScript(`
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local id = '0-0'
if last[1] then id = last[1][1] end
return {redis.call('GET', KEYS[2]) or '0', id}
`)

func (x *Index) followOnce(ctx context.Context, chain string, log *zap.Logger) error {
	feed := x.store.key(chain, "feed")
	pos, err := positionScript.Run(ctx, x.rdb, []string{feed,
		x.store.key(chain, "feedseq")}).StringSlice()
	if err != nil {
		return fmt.Errorf("feed position: %w", err)
	}
	seq, err := strconv.ParseUint(pos[0], 10, 64)
	if err != nil {
		return fmt.Errorf("feed position: %q: %w", pos[0], err)
	}
	lastID := pos[1]
	set := fpset.New()
	start := time.Now()
	err = x.store.scanKeys(ctx, chain, x.opts.Scan, func(k string) { addKey(set, k) })
	if err != nil {
		return err
	}
	x.mu.Lock()
	x.sets[chain] = set
	x.mu.Unlock()
	log.Info("taint index built", zap.Int("members", set.Len()),
		zap.Int("bytes", set.Bytes()), zap.Duration("took", time.Since(start)))
	for {
		res, err := x.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{feed, lastID},
			Count: DefaultIndexBatch, Block: x.opts.Block}).Result()
		if errors.Is(err, redis.Nil) {
			continue // nothing new
		}
		if err != nil {
			return fmt.Errorf("read the feed: %w", err)
		}
		var keys []string
		for _, m := range res[0].Messages {
			s, _ := m.Values["s"].(string)
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return fmt.Errorf("feed entry %s: sequence %q", m.ID, s)
			}
			if n != seq+1 {
				return fmt.Errorf("%w: entry %d after %d", errGap, n, seq)
			}
			seq, lastID = n, m.ID
			k, _ := m.Values["k"].(string)
			keys = append(keys, strings.Split(k, "\n")...)
		}
		x.mu.Lock()
		for _, k := range keys {
			addKey(set, k)
		}
		x.mu.Unlock()
	}
}

// addKey adds the base of a store key, unless it is an outpoint: screening asks about
// addresses (and Bitcoin addresses' records are under rules.ReceivedKey).
func addKey(set *fpset.Set, key string) {
	_, base := rules.SplitKey(key)
	if strings.IndexByte(base, ':') >= 0 {
		return
	}
	set.Add(base)
}
