package chains

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// DefaultInflight is the number of blocks Stream fetches at once when given 0.
const DefaultInflight = 8

// Stream fetches blocks from..to (inclusive) from src with at most inflight blocks fetched or
// held at once, and calls emit for each in block order. It stops at the first error, from a
// fetch or from emit, and returns it; emit is never called concurrently.
//
// Stream starts its own goroutines and waits for all of them before it returns.
func Stream(ctx context.Context, src Source, from, to uint64, inflight int,
	emit func(*Block) error) error {
	if from > to {
		return fmt.Errorf("empty range: from %d > to %d", from, to)
	}
	if inflight <= 0 {
		inflight = DefaultInflight
	}
	type result struct {
		block *Block
		err   error
	}
	g, ctx := errgroup.WithContext(ctx)
	slots := make(chan struct{}, inflight)
	order := make(chan chan result, inflight)

	g.Go(func() error { // producer: starts fetches in block order, bounded by slots
		defer close(order)
		for n := from; ; n++ {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			ch := make(chan result, 1)
			g.Go(func() error {
				b, err := src.Block(ctx, n)
				ch <- result{b, err}
				return nil
			})
			select {
			case order <- ch:
			case <-ctx.Done():
				return nil
			}
			if n == to {
				return nil
			}
		}
	})
	g.Go(func() error { // consumer: emits in order and frees a slot per block
		for ch := range order {
			var r result
			select {
			case r = <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
			if r.err != nil {
				return r.err
			}
			if err := emit(r.block); err != nil {
				return err
			}
			<-slots
		}
		return ctx.Err()
	})
	return g.Wait()
}
