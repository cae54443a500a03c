package queue

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrFenced is returned by a FencedJournal's writes when its holder no longer holds the
// chain's poller lease: another poller took the chain over, and this one must stand by.
var ErrFenced = errors.New("the poller lease is another's")

// PollerLeaseKey is the key of chain's poller lease: the holder's name, expiring.
func (q *Redis) PollerLeaseKey(chain string) string { return q.key(chain, "poller") }

// LeasePoller takes or renews chain's poller lease for holder, for ttl; false if another
// holds it. (SET PX when free or holder's, as Own.)
func (q *Redis) LeasePoller(ctx context.Context, chain, holder string, ttl time.Duration) (
	bool, error) {
	ms := max(ttl.Milliseconds(), 1)
	n, err := ownScript.Run(ctx, q.rdb, []string{q.PollerLeaseKey(chain)}, holder,
		ms).Int()
	if err != nil {
		return false, fmt.Errorf("lease the poller of %s: %w", chain, err)
	}
	return n == 1, nil
}

// ReleasePoller gives chain's poller lease up, if holder holds it.
func (q *Redis) ReleasePoller(ctx context.Context, chain, holder string) error {
	if err := releaseScript.Run(ctx, q.rdb, []string{q.PollerLeaseKey(chain)},
		holder).Err(); err != nil {
		return fmt.Errorf("release the poller of %s: %w", chain, err)
	}
	return nil
}

// FencedJournal is q's Journal for one poller: each write checks, in the same atomic step,
// that holder holds the chain's poller lease, and fails with ErrFenced otherwise, so that
// a poller that lost its lease while paused (a long GC, a stopped VM) writes nothing after
// another took over.
type FencedJournal struct {
	q      *Redis
	holder string
}

var _ Journal = (*FencedJournal)(nil)

// Fenced returns q's journal fenced by holder's poller lease.
func (q *Redis) Fenced(holder string) *FencedJournal {
	return &FencedJournal{q: q, holder: holder}
}

// Tip implements Journal.
func (j *FencedJournal) Tip(ctx context.Context, chain string) (Tip, error) {
	return j.q.Tip(ctx, chain)
}

// Record implements Journal.
func (j *FencedJournal) Record(ctx context.Context, chain string, n uint64) (Record, bool,
	error) {
	return j.q.Record(ctx, chain, n)
}

// Append implements Journal.
func (j *FencedJournal) Append(ctx context.Context, chain string, expect Tip, rec Record,
	depth int) error {
	return j.q.appendBlocks(ctx, chain, j.holder, expect, []Record{rec}, depth)
}

// AppendBlocks implements Journal.
func (j *FencedJournal) AppendBlocks(ctx context.Context, chain string, expect Tip,
	recs []Record, depth int) error {
	return j.q.appendBlocks(ctx, chain, j.holder, expect, recs, depth)
}

// Rollback implements Journal.
func (j *FencedJournal) Rollback(ctx context.Context, chain string, expect, to Tip,
	removed [][]byte) error {
	return j.q.rollback(ctx, chain, j.holder, expect, to, removed)
}
