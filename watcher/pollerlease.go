package watcher

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/watcher/queue"
)

// DefaultPollerLease is how long a poller's lease on its chain lasts unrenewed: a standby
// poller takes over within about this long after the active one dies.
const DefaultPollerLease = 15 * time.Second

// PollerLease is the lease one poller per chain holds to publish it (queue.Redis has it).
type PollerLease interface {
	LeasePoller(ctx context.Context, chain, holder string, ttl time.Duration) (bool, error)
	ReleasePoller(ctx context.Context, chain, holder string) error
}

var _ PollerLease = (*queue.Redis)(nil)

// lease takes or renews the poller's lease; when another holds it, it waits a third of the
// lease's time (or the poll interval, if shorter) and reports false. A Redis failure is
// waited out the same way. It returns an error only when ctx ends.
func (p *Poller) lease(ctx context.Context) (bool, error) {
	held, err := p.opts.Lease.LeasePoller(ctx, p.opts.Chain, p.opts.Holder, p.opts.LeaseTTL)
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	was := p.Status().Standby
	switch {
	case err != nil:
		p.log.Warn("poller lease: cannot reach the store", zap.Error(err))
		p.note(func(s *PollerStatus) { s.Err = err.Error() })
	case !held && !was:
		p.log.Info("standing by: another process publishes the chain",
			zap.Duration("lease", p.opts.LeaseTTL))
	case held && was:
		p.log.Info("took the chain's poller lease over")
	}
	p.note(func(s *PollerStatus) { s.Standby = !held })
	if held {
		p.leased.Store(time.Now().UnixNano())
		return true, nil
	}
	wait := min(p.opts.LeaseTTL/3, max(p.opts.PollInterval, 10*time.Millisecond))
	return false, sleep(ctx, wait)
}

// renew renews the lease before a write, so that a long catch-up keeps it, unless it was
// taken or renewed within the last third of its time; ErrFenced if it was lost. (The
// journal's fence refuses a write without the lease either way: renewing is what keeps it.)
func (p *Poller) renew(ctx context.Context) error {
	if p.opts.Lease == nil ||
		time.Since(time.Unix(0, p.leased.Load())) < p.opts.LeaseTTL/3 {
		return nil
	}
	held, err := p.opts.Lease.LeasePoller(ctx, p.opts.Chain, p.opts.Holder, p.opts.LeaseTTL)
	if err != nil {
		return fmt.Errorf("renew the poller lease: %w", err)
	}
	if !held {
		return queue.ErrFenced
	}
	p.leased.Store(time.Now().UnixNano())
	return nil
}

// release gives the lease up when the poller stops, so that a standby takes over at once.
func (p *Poller) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := p.opts.Lease.ReleasePoller(ctx, p.opts.Chain, p.opts.Holder); err != nil {
		p.log.Warn("poller lease: release", zap.Error(err))
	}
}
