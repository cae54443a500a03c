package chains

import (
	"context"
	"errors"
	"sync/atomic"

	"go.uber.org/zap"
)

var _ Source = (*Failover)(nil)

// Failover is a Source over several endpoints of one chain (the RPC URLs of a chain's
// config). A call goes to the current endpoint; when that fails, after the endpoint's own
// retries, the call is tried on the next endpoints in turn, and the first that answers
// becomes current. A cancelled call is not a failure and does not move on.
//
// Endpoints may lag one another or sit on different branches for a moment; switching reads
// like a reorg or a head that went back, which the poller already handles.
//
// Failover is safe for concurrent use.
type Failover struct {
	sources []Source
	names   []string
	current atomic.Int64
	log     *zap.Logger
}

// NewFailover returns a Failover over sources, named in logs by names (redacted URLs);
// log nil means no logging. It panics if sources is empty or the lengths differ.
func NewFailover(sources []Source, names []string, log *zap.Logger) *Failover {
	if len(sources) == 0 || len(sources) != len(names) {
		panic("chains: NewFailover needs one name per source and at least one source")
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Failover{sources: sources, names: names, log: log}
}

// call runs f on the current source, then on each other in turn until one succeeds.
func call[T any](ctx context.Context, f *Failover, what string,
	fn func(Source) (T, error)) (T, error) {
	start := int(f.current.Load())
	var err error
	for i := range f.sources {
		k := (start + i) % len(f.sources)
		var v T
		if v, err = fn(f.sources[k]); err == nil {
			if k != start && f.current.CompareAndSwap(int64(start), int64(k)) {
				f.log.Warn("switched RPC endpoint", zap.String("from", f.names[start]),
					zap.String("to", f.names[k]), zap.String("call", what))
			}
			return v, nil
		}
		if ctx.Err() != nil || len(f.sources) == 1 {
			return v, err
		}
		if !errors.Is(err, ErrBlockNotFound) && !errors.Is(err, ErrTxNotFound) {
			f.log.Warn("RPC endpoint failed; trying the next", zap.String("endpoint",
				f.names[k]), zap.String("call", what), zap.Error(err))
		}
	}
	var zero T
	return zero, err
}

// Head implements Source.
func (f *Failover) Head(ctx context.Context) (uint64, error) {
	return call(ctx, f, "head", func(s Source) (uint64, error) { return s.Head(ctx) })
}

// Block implements Source.
func (f *Failover) Block(ctx context.Context, n uint64) (*Block, error) {
	return call(ctx, f, "block", func(s Source) (*Block, error) { return s.Block(ctx, n) })
}

// Ref implements Source.
func (f *Failover) Ref(ctx context.Context, n uint64) (BlockRef, error) {
	return call(ctx, f, "ref", func(s Source) (BlockRef, error) { return s.Ref(ctx, n) })
}
