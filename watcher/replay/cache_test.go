package replay

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/chains"
)

// countingSource serves made-up blocks and counts what it is asked; its hashes change
// with its fork, as a node's do after a reorg.
type countingSource struct {
	blocks, refs atomic.Int64
	fork         atomic.Int64
}

var _ chains.Source = (*countingSource)(nil)

func (s *countingSource) Head(context.Context) (uint64, error) { return 1000, nil }

func (s *countingSource) ref(n uint64) chains.BlockRef {
	return chains.BlockRef{Number: n, Hash: fmt.Sprintf("0x%d-%d", s.fork.Load(), n),
		Time: time.Unix(int64(n), 0).UTC()}
}

func (s *countingSource) Ref(_ context.Context, n uint64) (chains.BlockRef, error) {
	s.refs.Add(1)
	return s.ref(n), nil
}

func (s *countingSource) Block(_ context.Context, n uint64) (*chains.Block, error) {
	s.blocks.Add(1)
	m := scMove(n, 0, scLazarus, scFresh(1), chains.AssetNative, big.NewInt(int64(n)))
	m.Block = s.ref(n)
	return &chains.Block{Ref: m.Block, Movements: []chains.Movement{m}}, nil
}

// TestCache: a block is fetched once and then served from disk, checked by its header;
// after a reorg (new hashes) it is fetched again; blocks near the head are never kept; a
// damaged file is fetched again; the directory stays within its bound.
func TestCache(t *testing.T) {
	ctx := context.Background()
	src := &countingSource{}
	dir := t.TempDir()
	c, err := OpenCache(src, CacheOptions{Dir: dir, Head: 100, Depth: 10})
	if err != nil {
		t.Fatal(err)
	}
	get := func(n uint64) *chains.Block {
		t.Helper()
		b, err := c.Block(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	first := get(50)
	again := get(50)
	if src.blocks.Load() != 1 || c.Stats().Hits != 1 {
		t.Fatalf("fetched %d times, %d hits; want 1 and 1", src.blocks.Load(), c.Stats().Hits)
	}
	if again.Movements[0].Outputs[0].Amount.Cmp(first.Movements[0].Outputs[0].Amount) != 0 ||
		again.Ref != first.Ref {
		t.Fatalf("cached %+v, fetched %+v", again, first)
	}
	get(95) // 5 below the head: not kept
	get(95)
	if src.blocks.Load() != 3 {
		t.Fatalf("a block near the head was served from the cache")
	}
	src.fork.Add(1) // a reorg: the node's block 50 is another
	if b := get(50); b.Ref.Hash != "0x1-50" || src.blocks.Load() != 4 {
		t.Fatalf("after a reorg the cache served %s", b.Ref.Hash)
	}
	if err := os.WriteFile(filepath.Join(dir, "50.blk"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b := get(50); b.Ref.Hash != "0x1-50" || src.blocks.Load() != 5 {
		t.Fatalf("a damaged file was served")
	}
	get(50)
	if src.blocks.Load() != 5 {
		t.Fatalf("the block fetched after the damaged file was not kept")
	}
}

// TestCacheBound: the files stay within MaxBytes, the least recently used going first.
func TestCacheBound(t *testing.T) {
	ctx := context.Background()
	src := &countingSource{}
	dir := t.TempDir()
	c, err := OpenCache(src, CacheOptions{Dir: dir, Head: 1000, MaxBytes: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	for n := uint64(1); n <= 200; n++ {
		if _, err := c.Block(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	var total int64
	files, _ := os.ReadDir(dir)
	for _, f := range files {
		fi, _ := f.Info()
		total += fi.Size()
	}
	if total > 8<<10 || total == 0 || total != c.Stats().Bytes {
		t.Fatalf("%d bytes on disk (%d counted), bound %d", total, c.Stats().Bytes, 8<<10)
	}
	if _, err := os.Stat(filepath.Join(dir, "200.blk")); err != nil {
		t.Fatalf("the newest block was evicted: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "1.blk")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the oldest block is still there: %v", err)
	}
	reopened, err := OpenCache(src, CacheOptions{Dir: dir, Head: 1000, MaxBytes: 8 << 10})
	if err != nil || reopened.Stats().Bytes != total {
		t.Fatalf("reopened: %d bytes, %v; want %d", reopened.Stats().Bytes, err, total)
	}
}

// batchingSource is a countingSource that gives headers in batches too.
type batchingSource struct {
	countingSource
	batches atomic.Int64
}

func (s *batchingSource) Refs(_ context.Context, from, to uint64) ([]chains.BlockRef, error) {
	s.batches.Add(1)
	var out []chains.BlockRef
	for n := from; n <= to; n++ {
		out = append(out, s.ref(n))
	}
	return out, nil
}

// TestCacheBatchedChecks: where the source gives headers in batches, cached blocks are
// checked verifyBatch at a time, concurrently fetched blocks sharing one batch, and a
// reorg is still seen.
func TestCacheBatchedChecks(t *testing.T) {
	ctx := context.Background()
	src := &batchingSource{}
	c, err := OpenCache(src, CacheOptions{Dir: t.TempDir(), Head: 1000, Depth: 10})
	if err != nil {
		t.Fatal(err)
	}
	replay := func() {
		t.Helper()
		err := chains.Stream(ctx, c, 1, 250, 8, func(*chains.Block) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
	}
	replay()
	replay()
	if src.blocks.Load() != 250 || src.refs.Load() != 0 || src.batches.Load() != 3 ||
		c.Stats().Hits != 250 {
		t.Fatalf("fetched %d blocks, %d headers one by one, %d batches, %d hits; want 250, "+
			"0, 3, 250", src.blocks.Load(), src.refs.Load(), src.batches.Load(),
			c.Stats().Hits)
	}
	src.fork.Add(1)
	replay()
	if src.blocks.Load() != 500 {
		t.Fatalf("after a reorg the cache served %d stale blocks", 500-src.blocks.Load())
	}
}
