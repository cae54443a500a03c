package replay

import (
	"bytes"
	"cmp"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowwatch/flowwatch/chains"
)

// Defaults for CacheOptions.
const (
	// DefaultCacheBytes bounds a cache directory: some 100,000 mainnet blocks' movements.
	DefaultCacheBytes = 2 << 30
	// DefaultCacheDepth is how far below the head a block must be to be cached: deeper
	// than Ethereum's finality (64 to 95 blocks) and any Bitcoin reorg seen.
	DefaultCacheDepth = 128
)

// CacheOptions configure a Cache.
type CacheOptions struct {
	// Dir holds the cached blocks of one chain (Open makes it).
	Dir string
	// MaxBytes bounds the files in Dir; the least recently used go first. 0:
	// DefaultCacheBytes.
	MaxBytes int64
	// Depth is how many blocks below Head a block must be to be cached; 0:
	// DefaultCacheDepth, -1: any block.
	Depth int64
	// Head is the node's head when the replay began.
	Head uint64
}

// Cache is a chains.Source that keeps the blocks it fetches on disk, one file per block,
// so that a second replay over a range does not fetch them again. A cached block is
// served after its hash is checked against the node's header, so that a cache filled from
// another chain, or before a reorg, is never served: headers are asked for verifyBatch
// blocks at a time where the source can (RefBatcher), else one by one. Blocks near the
// head are not cached. Safe for concurrent use.
type Cache struct {
	src     chains.Source
	batcher RefBatcher // nil: one Ref per cached block
	opts    CacheOptions
	mu      sync.Mutex // serializes eviction
	size    atomic.Int64
	hits    atomic.Uint64
	miss    atomic.Uint64

	vmu    sync.Mutex
	checks map[uint64]*check // the node's hashes, by block number / verifyBatch
}

// RefBatcher gives the identities of many blocks in one request (ethereum.Source.Refs).
type RefBatcher interface {
	Refs(ctx context.Context, from, to uint64) ([]chains.BlockRef, error)
}

// verifyBatch is how many blocks' headers a Cache asks for at once.
const verifyBatch = 100

// check is one batch of the node's block hashes, ready when done is closed. It serves
// one pass over the batch's cached blocks (left counts them down) and is then dropped,
// so that a later pass asks the node again and sees a reorg.
type check struct {
	done   chan struct{}
	from   uint64
	hashes []string
	err    error
	left   atomic.Int64
}

var _ chains.Source = (*Cache)(nil)

// OpenCache opens (making it if needed) a cache of src's blocks.
func OpenCache(src chains.Source, opts CacheOptions) (*Cache, error) {
	switch opts.MaxBytes {
	case 0:
		opts.MaxBytes = DefaultCacheBytes
	}
	switch opts.Depth {
	case 0:
		opts.Depth = DefaultCacheDepth
	case -1:
		opts.Depth = 0
	}
	if opts.Dir == "" {
		return nil, errors.New("cache: dir: empty")
	}
	if opts.MaxBytes < 0 || opts.Depth < 0 {
		return nil, fmt.Errorf("cache: max bytes %d, depth %d: want 0 or more",
			opts.MaxBytes, opts.Depth)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	c := &Cache{src: src, opts: opts, checks: map[uint64]*check{}}
	c.batcher, _ = src.(RefBatcher)
	files, err := c.files()
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		c.size.Add(f.size)
	}
	return c, nil
}

// Head implements chains.Source.
func (c *Cache) Head(ctx context.Context) (uint64, error) { return c.src.Head(ctx) }

// Ref implements chains.Source.
func (c *Cache) Ref(ctx context.Context, n uint64) (chains.BlockRef, error) {
	return c.src.Ref(ctx, n)
}

// Block implements chains.Source: the cached block when the node's header of n has its
// hash, else the node's block (cached when it is deep enough).
func (c *Cache) Block(ctx context.Context, n uint64) (*chains.Block, error) {
	cacheable := n+uint64(c.opts.Depth) <= c.opts.Head
	if cacheable {
		if b, ok := c.load(n); ok {
			hash, err := c.nodeHash(ctx, n)
			if err != nil {
				return nil, err
			}
			if hash == b.Ref.Hash {
				c.hits.Add(1)
				return b, nil
			}
		}
	}
	c.miss.Add(1)
	b, err := c.src.Block(ctx, n)
	if err != nil || !cacheable {
		return b, err
	}
	if err := c.store(b); err != nil {
		return nil, err
	}
	return b, nil
}

// nodeHash is the hash of the node's block n (a cacheable one), from a batch of headers
// that the first caller of the batch asks for and the others wait for.
func (c *Cache) nodeHash(ctx context.Context, n uint64) (string, error) {
	if c.batcher == nil {
		ref, err := c.src.Ref(ctx, n)
		return ref.Hash, err
	}
	k := n / verifyBatch
	c.vmu.Lock()
	ch := c.checks[k]
	if ch == nil {
		ch = &check{done: make(chan struct{}), from: k * verifyBatch}
		c.checks[k] = ch
		for old := range c.checks { // a replay moves on: earlier batches are done with
			if old+2 < k {
				delete(c.checks, old)
			}
		}
		c.vmu.Unlock()
		to := min(ch.from+verifyBatch-1, c.opts.Head-uint64(c.opts.Depth))
		ch.left.Store(c.cachedIn(ch.from, to))
		refs, err := c.batcher.Refs(ctx, ch.from, to)
		for _, r := range refs {
			ch.hashes = append(ch.hashes, r.Hash)
		}
		if ch.err = err; err != nil {
			c.vmu.Lock()
			delete(c.checks, k) // the next caller asks again
			c.vmu.Unlock()
		}
		close(ch.done)
	} else {
		c.vmu.Unlock()
		select {
		case <-ch.done:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	if ch.err != nil {
		return "", fmt.Errorf("check cached block %d: %w", n, ch.err)
	}
	if ch.left.Add(-1) <= 0 {
		c.vmu.Lock()
		if c.checks[k] == ch {
			delete(c.checks, k)
		}
		c.vmu.Unlock()
	}
	return ch.hashes[n-ch.from], nil
}

// cachedIn counts the blocks from..to that have a file.
func (c *Cache) cachedIn(from, to uint64) int64 {
	var n int64
	for b := from; b <= to; b++ {
		if _, err := os.Stat(c.path(b)); err == nil {
			n++
		}
	}
	return n
}

// CacheStats are a cache's hits and misses so far, and its size on disk.
type CacheStats struct {
	Hits, Misses uint64
	Bytes        int64
}

// Stats returns what the cache served and fetched.
func (c *Cache) Stats() CacheStats {
	return CacheStats{Hits: c.hits.Load(), Misses: c.miss.Load(), Bytes: c.size.Load()}
}

func (c *Cache) path(n uint64) string {
	return filepath.Join(c.opts.Dir, strconv.FormatUint(n, 10)+".blk")
}

// load reads block n's file; a file that does not decode is removed and missed.
func (c *Cache) load(n uint64) (*chains.Block, bool) {
	p := c.path(n)
	raw, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	var b chains.Block
	if err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&b); err != nil ||
		b.Ref.Number != n {
		if os.Remove(p) == nil {
			c.size.Add(-int64(len(raw)))
		}
		return nil, false
	}
	now := time.Now()
	_ = os.Chtimes(p, now, now) // recently used; a failure only ages it
	return &b, true
}

// store writes b's file (whole or not at all) and evicts the least recently used files
// while the cache is over its bound.
func (c *Cache) store(b *chains.Block) error {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(b); err != nil {
		return fmt.Errorf("cache block %d: %w", b.Ref.Number, err)
	}
	p := c.path(b.Ref.Number)
	tmp, err := os.CreateTemp(c.opts.Dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	_, werr := tmp.Write(buf.Bytes())
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	var old int64
	if fi, err := os.Stat(p); err == nil {
		old = fi.Size()
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), p)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cache block %d: %w", b.Ref.Number, werr)
	}
	if c.size.Add(int64(buf.Len())-old) > c.opts.MaxBytes {
		return c.evict()
	}
	return nil
}

type cacheFile struct {
	path string
	size int64
	used time.Time
}

// files lists the cache's block files.
func (c *Cache) files() ([]cacheFile, error) {
	entries, err := os.ReadDir(c.opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	var out []cacheFile
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".blk") {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cache: %w", err)
		}
		out = append(out, cacheFile{filepath.Join(c.opts.Dir, e.Name()), fi.Size(),
			fi.ModTime()})
	}
	return out, nil
}

// evict removes the least recently used files until the cache is down to 90% of its
// bound.
func (c *Cache) evict() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	files, err := c.files()
	if err != nil {
		return err
	}
	var total int64
	for _, f := range files {
		total += f.size
	}
	slices.SortFunc(files, func(a, b cacheFile) int {
		return cmp.Or(a.used.Compare(b.used), cmp.Compare(a.path, b.path))
	})
	low := c.opts.MaxBytes / 10 * 9
	for _, f := range files {
		if total <= low {
			break
		}
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cache: %w", err)
		}
		total -= f.size
	}
	c.size.Store(total)
	return nil
}
