package chains

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

var _ Source = (*Failover)(nil)

// Failover is a Source over several endpoints of one chain (the RPC URLs of a chain's
// config). A call goes to the current endpoint; when that fails, after the endpoint's own
// retries, the call is tried on the other endpoints, and the first that answers becomes
// current. A cancelled call is not a failure and does not move on.
//
// Run checks the endpoints every CheckEvery (Check): one whose head lags the best by more
// than MaxLag blocks, or whose hash of a recent block all answer for differs from what
// most (by weight) say, or that does not answer, is demoted: calls go to it only when
// every healthy endpoint failed, and it is restored once a check finds it well. Among the
// healthy, calls prefer the higher weight, then the current endpoint, then config order.
//
// Endpoints may lag one another or sit on different branches for a moment; switching reads
// like a reorg or a head that went back, which the poller already handles.
//
// Failover is safe for concurrent use.
type Failover struct {
	sources []Source
	opts    FailoverOptions
	current atomic.Int64
	log     *zap.Logger

	mu     sync.Mutex
	health []EndpointHealth
}

// Defaults for FailoverOptions.
const (
	DefaultFailoverMaxLag     = 8
	DefaultFailoverCheckEvery = 30 * time.Second
)

// FailoverOptions configure a Failover.
type FailoverOptions struct {
	// Names name the endpoints in logs and metrics (redacted URLs), one per source.
	Names []string
	// Weights rank the endpoints, one per source (default 1 each); higher is preferred.
	Weights []int
	// MaxLag is how many blocks an endpoint's head may lag the best before it is demoted.
	MaxLag uint64
	// CheckEvery is how often Run checks the endpoints.
	CheckEvery time.Duration
	Logger     *zap.Logger
}

func (o *FailoverOptions) setDefaults(n int) {
	if o.Weights == nil {
		o.Weights = make([]int, n)
		for i := range o.Weights {
			o.Weights[i] = 1
		}
	}
	if o.MaxLag == 0 {
		o.MaxLag = DefaultFailoverMaxLag
	}
	if o.CheckEvery == 0 {
		o.CheckEvery = DefaultFailoverCheckEvery
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
}

// Validate reports the first invalid option.
func (o *FailoverOptions) Validate(n int) error {
	switch {
	case n == 0:
		return errors.New("no endpoint")
	case len(o.Names) != n:
		return fmt.Errorf("%d names for %d endpoints", len(o.Names), n)
	case len(o.Weights) != n:
		return fmt.Errorf("%d weights for %d endpoints", len(o.Weights), n)
	case o.CheckEvery < 0:
		return fmt.Errorf("check every %s: negative", o.CheckEvery)
	}
	for i, w := range o.Weights {
		if w < 1 {
			return fmt.Errorf("weight %d of %s: want 1 or more", w, o.Names[i])
		}
	}
	return nil
}

// NewFailover returns a Failover over sources.
func NewFailover(sources []Source, opts FailoverOptions) (*Failover, error) {
	opts.setDefaults(len(sources))
	if err := opts.Validate(len(sources)); err != nil {
		return nil, fmt.Errorf("failover: %w", err)
	}
	f := &Failover{sources: sources, opts: opts, log: opts.Logger,
		health: make([]EndpointHealth, len(sources))}
	for i := range f.health {
		f.health[i].Name = opts.Names[i]
	}
	f.current.Store(int64(f.order()[0])) // the heaviest
	return f, nil
}

// order is the order to try the endpoints in: the healthy ones by weight (the current one
// first among equals), then the demoted ones alike.
func (f *Failover) order() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur := int(f.current.Load())
	out := make([]int, len(f.sources))
	for i := range out {
		out[i] = i
	}
	rank := func(i int) (bool, bool, int) {
		return f.health[i].Demoted == "", i == cur, f.opts.Weights[i]
	}
	slices.SortStableFunc(out, func(a, b int) int {
		ha, ca, wa := rank(a)
		hb, cb, wb := rank(b)
		switch {
		case ha != hb:
			return boolOrder(ha, hb)
		case wa != wb:
			return wb - wa
		}
		return boolOrder(ca, cb)
	})
	return out
}

// boolOrder sorts true first.
func boolOrder(a, b bool) int {
	if a {
		return -1
	}
	if b {
		return 1
	}
	return 0
}

// call runs fn on the endpoints in order until one succeeds.
func call[T any](ctx context.Context, f *Failover, what string,
	fn func(Source) (T, error)) (T, error) {
	order := f.order()
	start := int(f.current.Load())
	var err error
	for _, k := range order {
		var v T
		if v, err = fn(f.sources[k]); err == nil {
			if k != start && f.current.CompareAndSwap(int64(start), int64(k)) {
				f.log.Warn("switched RPC endpoint", zap.String("from", f.opts.Names[start]),
					zap.String("to", f.opts.Names[k]), zap.String("call", what))
			}
			return v, nil
		}
		if ctx.Err() != nil || len(f.sources) == 1 {
			return v, err
		}
		if !errors.Is(err, ErrBlockNotFound) && !errors.Is(err, ErrTxNotFound) {
			f.log.Warn("RPC endpoint failed; trying the next", zap.String("endpoint",
				f.opts.Names[k]), zap.String("call", what), zap.Error(err))
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
