package chains

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowSource answers after a random short delay, so that blocks finish out of order, and
// records how many calls are running at once. It stands in for a node to test Stream's
// ordering and bounds; the sources themselves are tested against real nodes.
type slowSource struct {
	failAt    uint64
	running   atomic.Int64
	maxSeen   atomic.Int64
	mu        sync.Mutex
	requested []uint64
}

func (s *slowSource) Head(context.Context) (uint64, error) { return 0, nil }

func (s *slowSource) Ref(_ context.Context, n uint64) (BlockRef, error) {
	return BlockRef{Number: n}, nil
}

func (s *slowSource) Block(ctx context.Context, n uint64) (*Block, error) {
	r := s.running.Add(1)
	defer s.running.Add(-1)
	for {
		m := s.maxSeen.Load()
		if r <= m || s.maxSeen.CompareAndSwap(m, r) {
			break
		}
	}
	s.mu.Lock()
	s.requested = append(s.requested, n)
	s.mu.Unlock()
	select {
	case <-time.After(time.Duration(rand.IntN(300)) * time.Microsecond):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if n == s.failAt {
		return nil, fmt.Errorf("block %d: boom", n)
	}
	return &Block{Ref: BlockRef{Number: n}}, nil
}

func TestStreamOrderAndBound(t *testing.T) {
	src := &slowSource{}
	var got []uint64
	err := Stream(context.Background(), src, 100, 399, 5, func(b *Block) error {
		got = append(got, b.Ref.Number)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 300 {
		t.Fatalf("got %d blocks, want 300", len(got))
	}
	for i, n := range got {
		if n != uint64(100+i) {
			t.Fatalf("block %d at position %d: out of order", n, i)
		}
	}
	if m := src.maxSeen.Load(); m > 5 {
		t.Fatalf("%d fetches at once, want at most 5", m)
	}
}

func TestStreamErrors(t *testing.T) {
	emitErr := errors.New("sink full")
	tests := []struct {
		name     string
		failAt   uint64
		emitFail uint64
		wantErr  error
		wantText string
		wantLast uint64
	}{
		{name: "fetch error", failAt: 50, wantText: "block 50: boom", wantLast: 49},
		{name: "emit error", emitFail: 20, wantErr: emitErr, wantLast: 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &slowSource{failAt: tt.failAt}
			var last uint64
			err := Stream(context.Background(), src, 1, 1000, 4, func(b *Block) error {
				last = b.Ref.Number
				if b.Ref.Number == tt.emitFail {
					return emitErr
				}
				return nil
			})
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) ||
				(tt.wantText != "" && err.Error() != tt.wantText) {
				t.Fatalf("got %v", err)
			}
			if last != tt.wantLast {
				t.Fatalf("last emitted %d, want %d: blocks after an error were emitted or "+
					"blocks before it were lost", last, tt.wantLast)
			}
			if r := src.running.Load(); r != 0 {
				t.Fatalf("%d fetches still running after Stream returned", r)
			}
		})
	}
}

func TestStreamCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	src := &slowSource{}
	err := Stream(ctx, src, 1, 1<<40, 3, func(b *Block) error {
		if b.Ref.Number == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestStreamEmptyRange(t *testing.T) {
	if err := Stream(context.Background(), &slowSource{}, 5, 4, 1,
		func(*Block) error { return nil }); err == nil {
		t.Fatal("want an error for from > to")
	}
}
