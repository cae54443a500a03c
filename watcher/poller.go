package watcher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/queue"
)

// Defaults for PollerOptions.
const (
	DefaultPollInterval = 2 * time.Second
	DefaultDepth        = 64
	DefaultBatch        = 100
	DefaultAppendBlocks = 16
	// DefaultMaxBacklog is in stream entries, each up to queue.MaxEntryPayloads movements
	// of one block.
	DefaultMaxBacklog = 1_000
)

// PollerOptions configure a Poller.
type PollerOptions struct {
	// Chain names the chain; it must match the source's.
	Chain string
	// Confirmations: the poller publishes block n once the head is at n+Confirmations.
	Confirmations uint64
	// StartBlock is the first block published when the journal has no cursor yet.
	StartBlock uint64
	// PollInterval is the wait between head checks once caught up.
	PollInterval time.Duration
	// Depth is how many recent blocks are kept for reorg handling; a reorg deeper than that
	// stops the poller with an error.
	Depth int
	// Batch is how many blocks one catch-up round fetches (Inflight at a time).
	Batch    uint64
	Inflight int
	// AppendBlocks is how many fetched blocks are published in one round trip during
	// catch-up (each block atomically with the cursor, in order).
	AppendBlocks int
	// MaxBacklog pauses publishing while the consumers have more entries than this to do.
	MaxBacklog int64
	// Lease, when not nil, makes the poller publish only while Holder holds the chain's
	// poller lease, for LeaseTTL (renewed as it goes), and stand by otherwise: one poller
	// per chain publishes among processes. The journal must then be fenced by the same
	// holder (queue.Redis.Fenced), so that a poller that lost the lease writes nothing.
	Lease    PollerLease
	Holder   string
	LeaseTTL time.Duration
	Logger   *zap.Logger
}

func (o *PollerOptions) setDefaults() {
	if o.PollInterval == 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Depth == 0 {
		o.Depth = DefaultDepth
	}
	if o.Batch == 0 {
		o.Batch = DefaultBatch
	}
	if o.Inflight == 0 {
		o.Inflight = chains.DefaultInflight
	}
	if o.MaxBacklog == 0 {
		o.MaxBacklog = DefaultMaxBacklog
	}
	if o.AppendBlocks == 0 {
		o.AppendBlocks = DefaultAppendBlocks
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = DefaultPollerLease
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
}

// Validate reports the first invalid option, naming it.
func (o *PollerOptions) Validate() error {
	switch {
	case o.Chain == "":
		return errors.New("chain: empty")
	case o.Lease != nil && o.Holder == "":
		return errors.New("holder: empty (a lease needs a holder)")
	case o.LeaseTTL < 10*time.Millisecond:
		return fmt.Errorf("lease ttl %v: want 10ms or more", o.LeaseTTL)
	case o.PollInterval < 0:
		return fmt.Errorf("poll interval %v: want positive", o.PollInterval)
	case o.AppendBlocks < 1:
		return fmt.Errorf("append blocks %d: want at least 1", o.AppendBlocks)
	case o.Depth < 2:
		return fmt.Errorf("depth %d: want at least 2", o.Depth)
	case uint64(o.Depth) <= o.Confirmations:
		return fmt.Errorf("depth %d: want more than confirmations (%d)", o.Depth,
			o.Confirmations)
	}
	return nil
}

// backlogReader is the part of the consumer side the poller watches for back-pressure.
type backlogReader interface {
	Backlog(ctx context.Context, chain string) (int64, error)
}

// Poller follows one chain. Run it once; it is not safe to run one Poller twice at once.
type Poller struct {
	src     chains.Source
	journal queue.Journal
	backlog backlogReader // nil: no back-pressure
	opts    PollerOptions
	log     *zap.Logger

	mu     sync.Mutex
	status PollerStatus
	// leased is when the poller last took or renewed its lease (Unix ns).
	leased atomic.Int64
}

// PollerStatus is where a poller is: what the heartbeat reports and watches.
type PollerStatus struct {
	Chain string
	// Head is the node's head when last asked; Published the newest block published.
	Head, Published uint64
	// AtHead is when the poller last found nothing left to publish (zero: never yet):
	// a quiet chain keeps it fresh, a stalled node or poller lets it age.
	AtHead time.Time
	// Err is the last round's error, "" once a round succeeds.
	Err string
	// Blocks and Movements count what this poller published (a rollback's republished
	// blocks again).
	Blocks, Movements uint64
	// Standby: another process holds the chain's poller lease (PollerOptions.Lease).
	Standby bool
}

// Status returns where the poller is. Safe for concurrent use.
func (p *Poller) Status() PollerStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.status
	s.Chain = p.opts.Chain
	return s
}

func (p *Poller) note(f func(s *PollerStatus)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.status)
}

// NewPoller returns a poller that reads src and writes journal; backlog, if not nil, is
// watched for back-pressure.
func NewPoller(src chains.Source, journal queue.Journal, backlog backlogReader,
	opts PollerOptions) (*Poller, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Poller{src: src, journal: journal, backlog: backlog, opts: opts,
		log: opts.Logger.With(zap.String("chain", opts.Chain))}, nil
}

// errReorg stops a catch-up round at a block that does not follow the cursor.
var errReorg = errors.New("reorg")

// Run follows the chain until ctx ends. Node errors are logged and retried after the poll
// interval; it returns ctx's error, or an error it cannot get past (a reorg deeper than
// the kept depth, a journal failure).
func (p *Poller) Run(ctx context.Context) error {
	if p.opts.Lease != nil {
		defer p.release()
	}
	for {
		if p.opts.Lease != nil {
			held, err := p.lease(ctx)
			if err != nil {
				return err
			}
			if !held {
				continue
			}
		}
		caughtUp, err := p.step(ctx)
		p.note(func(s *PollerStatus) {
			s.Err = ""
			if err != nil && ctx.Err() == nil {
				s.Err = err.Error()
			}
			if err == nil && caughtUp {
				s.AtHead = time.Now()
			}
		})
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, errReorg), errors.Is(err, queue.ErrConflict):
			continue // the cursor changed under us: start again from it
		case errors.Is(err, queue.ErrFenced):
			p.log.Warn("lost the chain's poller lease: another process publishes it now")
			continue
		case err != nil && !p.transient(err):
			return fmt.Errorf("poller %s: %w", p.opts.Chain, err)
		case err != nil:
			p.log.Warn("poll failed; retrying", zap.Error(err))
		case !caughtUp:
			continue
		}
		if err := sleep(ctx, p.opts.PollInterval); err != nil {
			return err
		}
	}
}

// transient says whether err is worth another round later: errors of the node (already
// retried by the source) and of the journal's store (Redis restarting, failing over or
// unreachable) are; those another round cannot mend (a reorg deeper than the blocks kept,
// a published record that does not decode) are not, and end Run.
func (p *Poller) transient(err error) bool {
	var fe fatalError
	return !errors.As(err, &fe)
}

// fatalError is an error that another round cannot mend.
type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }
func (e fatalError) Unwrap() error { return e.err }

// step publishes one batch of blocks, or checks the tip when caught up; caughtUp says
// there was nothing to publish.
func (p *Poller) step(ctx context.Context) (caughtUp bool, err error) {
	tip, err := p.journal.Tip(ctx, p.opts.Chain)
	if err != nil {
		return false, err
	}
	head, err := p.src.Head(ctx)
	if err != nil {
		return false, err
	}
	p.note(func(s *PollerStatus) { s.Head, s.Published = head, tip.Number })
	next := p.opts.StartBlock
	if tip.Valid {
		next = tip.Number + 1
	}
	if head < p.opts.Confirmations || next > head-p.opts.Confirmations {
		// Nothing new to publish: make sure what we published is still canonical (a node
		// may also fall back to a shorter branch).
		return true, p.checkTip(ctx, tip)
	}
	last := min(head-p.opts.Confirmations, next+p.opts.Batch-1)
	// Blocks are appended AppendBlocks at a time (one round trip); tip is the newest block
	// taken, published the journal's cursor.
	published := tip
	var pending []queue.Record
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		if err := p.waitBacklog(ctx); err != nil {
			return err
		}
		if err := p.renew(ctx); err != nil {
			return err
		}
		err := p.journal.AppendBlocks(ctx, p.opts.Chain, published, pending, p.opts.Depth)
		if err != nil { // ErrConflict and ErrFenced too: Run starts again from the tip
			return err
		}
		blocks, moves := uint64(len(pending)), uint64(0)
		for i := range pending {
			moves += uint64(len(pending[i].Payloads))
		}
		published, pending = tip, pending[:0]
		p.note(func(s *PollerStatus) {
			s.Published = tip.Number
			s.Blocks += blocks
			s.Movements += moves
		})
		return nil
	}
	err = chains.Stream(ctx, p.src, next, last, p.opts.Inflight, func(b *chains.Block) error {
		if tip.Valid && b.Ref.ParentHash != tip.Hash {
			if err := flush(); err != nil {
				return err
			}
			p.log.Info("reorg detected", zap.Uint64("block", b.Ref.Number),
				zap.String("parent", b.Ref.ParentHash), zap.String("have", tip.Hash))
			if err := p.rollback(ctx, tip); err != nil {
				return err
			}
			return errReorg
		}
		rec, err := record(b)
		if err != nil {
			return err
		}
		pending, tip = append(pending, rec), rec.Tip()
		if len(pending) >= p.opts.AppendBlocks || b.Ref.Number == last {
			return flush()
		}
		return nil
	})
	return false, err
}

func record(b *chains.Block) (queue.Record, error) {
	rec := queue.Record{Number: b.Ref.Number, Hash: b.Ref.Hash, ParentHash: b.Ref.ParentHash}
	for i := range b.Movements {
		payload, err := chains.MarshalMovement(&b.Movements[i])
		if err != nil {
			return rec, fmt.Errorf("block %d: %w", b.Ref.Number, err)
		}
		rec.Payloads = append(rec.Payloads, payload)
	}
	return rec, nil
}

// checkTip rolls back when the published tip is no longer the node's block at its height.
func (p *Poller) checkTip(ctx context.Context, tip queue.Tip) error {
	if !tip.Valid {
		return nil
	}
	ref, err := p.src.Ref(ctx, tip.Number)
	if err != nil && !errors.Is(err, chains.ErrBlockNotFound) {
		return err
	}
	if err == nil && ref.Hash == tip.Hash {
		return nil
	}
	p.log.Info("published tip is no longer canonical", zap.Uint64("block", tip.Number))
	return p.rollback(ctx, tip)
}

// rollback walks back from tip to the newest block that is still canonical and publishes
// the orphaned blocks' movements as removed, newest first, in reverse order within each
// block, so that consumers undo them in the opposite order of doing them.
func (p *Poller) rollback(ctx context.Context, tip queue.Tip) error {
	var removed [][]byte
	to := queue.Tip{}
	for n := tip.Number; ; n-- {
		rec, ok, err := p.journal.Record(ctx, p.opts.Chain, n)
		if err != nil {
			return err
		}
		if !ok {
			if n+1 == p.opts.StartBlock {
				break // every block published so far was orphaned: start again
			}
			return fatalError{fmt.Errorf("reorg deeper than the %d blocks kept, at block %d",
				p.opts.Depth, tip.Number)}
		}
		ref, err := p.src.Ref(ctx, n)
		if err != nil && !errors.Is(err, chains.ErrBlockNotFound) {
			return err
		}
		if err == nil && ref.Hash == rec.Hash {
			to = rec.Tip()
			break
		}
		for _, payload := range slices.Backward(rec.Payloads) {
			m, err := chains.UnmarshalMovement(payload)
			if err != nil {
				return fatalError{fmt.Errorf("record of block %d: %w", n, err)}
			}
			m.Removed = true
			b, err := chains.MarshalMovement(&m)
			if err != nil {
				return err
			}
			removed = append(removed, b)
		}
		if n == 0 {
			break
		}
	}
	p.log.Info("rolling back", zap.Uint64("from", tip.Number), zap.Uint64("to", to.Number),
		zap.Int("removed", len(removed)))
	if err := p.renew(ctx); err != nil {
		return err
	}
	return p.journal.Rollback(ctx, p.opts.Chain, tip, to, removed)
}

// waitBacklog waits while the consumers are more than MaxBacklog entries behind.
func (p *Poller) waitBacklog(ctx context.Context) error {
	if p.backlog == nil {
		return nil
	}
	for {
		n, err := p.backlog.Backlog(ctx, p.opts.Chain)
		if err != nil {
			return err
		}
		if n <= p.opts.MaxBacklog {
			return nil
		}
		if err := sleep(ctx, p.opts.PollInterval); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
