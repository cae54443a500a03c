package watcher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/fanin"
	"github.com/flowwatch/flowwatch/watcher/queue"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

// Lists is what the worker reads about addresses from the watchlists: what was valid at
// the movement's block time, which addresses are listed at all, and a Version that
// changes when the lists do (the worker keeps a set of the listed addresses).
type Lists interface {
	SourceAt(chain, addr string, at time.Time) (rules.Source, bool)
	LabelAt(chain, addr string, at time.Time) (rules.Label, bool)
	// EachListed calls fn with every address the lists name on chain (Version says when
	// that changes).
	EachListed(chain string, fn func(addr string))
	Version() uint64
}

var (
	_ Lists = (*watchlist.Lists)(nil)
	_ Lists = (*watchlist.Live)(nil)
)

// Owner hands a chain to one worker at a time (queue.Owners implements it). OwnerKey names
// the key that holds a chain's owner ("" if none), with which the worker fences its taint
// writes: once another worker owns the chain, a stalled one cannot write.
type Owner interface {
	Own(ctx context.Context, chain, consumer string, ttl time.Duration) (bool, error)
	Release(ctx context.Context, chain, consumer string) error
	OwnerKey(chain string) string
}

var (
	_ Owner = (*queue.Redis)(nil)
	_ Owner = (*queue.Memory)(nil)
)

// Worker reads movements from the queue, applies the rules, records taint and hands alerts
// to the alerting pipeline; it acknowledges an entry only after the pipeline accepted its
// alerts.
//
// Several workers may share a consumer group, each running its own Run, in one process or
// many. A chain is processed by the one worker that owns it (Owner), because following
// funds hop by hop needs its movements judged in stream order: two workers on one chain
// could judge a hop before the hop that tainted its sender and miss the alert. The others
// stand by; an owner renews its ownership at least every ClaimIdle/4 and gives it up when
// Run returns; if it dies, another worker takes the chain over after ClaimIdle, and with it
// every entry left pending, in order, before reading new ones.
type Worker struct {
	consumer queue.Consumer
	owner    Owner
	lists    Lists
	store    taint.Store
	rules    []rules.Rule
	basesOf  rules.Bases // the rules' bases of a movement
	pipeline alerting.Stage
	opts     WorkerOptions
	log      *zap.Logger

	// Per chain; Run's goroutine only.
	recovered map[string]bool // nothing pending left from before: new entries next
	cold      map[string]bool // learners new: to warm before what is pending
	// unjudged: the learners started afresh and have been given no batch to judge since
	// (see learnApplied).
	unjudged map[string]bool
	// triedBatch: what the learners were given of the batch judged last (see tried).
	triedBatch map[string]*tried
	owned      map[string]time.Time // when ownership was last confirmed
	ahead      map[string][]queue.Message
	cache      *taintCache
	// capHits counts the decisions of the batch being judged that a tracked-address cap
	// limited, added to stats once its write goes through; cappedSeen holds the counters
	// already logged. Both Run's goroutine's.
	capHits    int
	cappedSeen map[string]bool
	stats      workerStats
	// infer holds the deposit-address inferrer of each chain that has one.
	infer map[string]*deposit.Inferrer
	// senders holds, when a fan-in rule needs them, who paid whom lately, per chain.
	senders map[string]*fanin.Tracker
	// judge's scratch, kept from batch to batch to spare allocations: the batch's bases
	// (rules.AppendBases), movement i's ending at ends[i], those to look up only if the
	// movement's sender is listed (rules.Bases.Append), and what the cache knows of each
	// (baseHeld, baseListed); the view, a decision, the effects and their taints.
	bases    []string
	ends     []int
	lazy     []lazyBase
	flags    []uint8
	view     view
	decision rules.Decision
	effects  []taint.Effect
	taints   []rules.NewTaint
}

// NewWorker returns a worker.
func NewWorker(consumer queue.Consumer, owner Owner, lists Lists, store taint.Store,
	rs []rules.Rule, pipeline alerting.Stage, opts WorkerOptions) (*Worker, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	for i := range rs {
		if err := rs[i].Validate(); err != nil {
			return nil, err
		}
	}
	log := opts.Logger.With(zap.String("worker", opts.Name))
	w := &Worker{infer: map[string]*deposit.Inferrer{}, senders: map[string]*fanin.Tracker{},
		consumer: consumer, owner: owner, lists: lists, store: store, rules: rs,
		basesOf:  rules.NewBases(rs),
		pipeline: pipeline, opts: opts, log: log, recovered: map[string]bool{},
		cold: map[string]bool{}, unjudged: map[string]bool{}, triedBatch: map[string]*tried{},
		owned: map[string]time.Time{}, ahead: map[string][]queue.Message{},
		cache: newTaintCache(opts.TaintCache, readPrefixes(rs, len(opts.Deposits) > 0),
			lists, log),
		cappedSeen: map[string]bool{}}
	chains := slices.Clone(opts.Chains)
	for chain := range opts.Deposits {
		if !slices.Contains(chains, chain) {
			chains = append(chains, chain)
		}
	}
	for _, chain := range chains {
		if err := w.learnAfresh(chain); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// learnAfresh gives chain a new deposit-address inferrer and fan-in tracker (those it
// has), which remember nothing: when the worker comes to own the chain, what they
// remembered of it has a hole where another worker owned it, and may hold movements that
// a reorg removed meanwhile (the other worker was told, not this one). It is then as after
// a restart: before the chain's pending entries are judged, warm gives them the movements
// judged before, as far back as the stream holds them, and a fan-in look-back covers the
// rest of the window.
func (w *Worker) learnAfresh(chain string) error {
	w.cold[chain], w.unjudged[chain] = true, true
	w.forgetTried(chain)
	if d, ok := w.opts.Deposits[chain]; ok {
		in, err := deposit.New(d)
		if err != nil {
			return fmt.Errorf("deposits of %s: %w", chain, err)
		}
		w.infer[chain] = in
	}
	if window := fanInWindow(w.rules); window > 0 && slices.Contains(w.opts.Chains, chain) {
		o := w.opts.FanIn[chain]
		o.Window = window
		tr, err := fanin.New(o)
		if err != nil {
			return fmt.Errorf("fan-in senders of %s: %w", chain, err)
		}
		w.senders[chain] = tr
	}
	return nil
}

// readPrefixes are the prefixes of the store keys a worker reads: the rules', and the
// deposit inferences' when a chain infers them.
func readPrefixes(rs []rules.Rule, infer bool) []string {
	ps := rules.Prefixes(rs)
	if infer {
		ps = append(ps, deposit.Key(""))
	}
	return ps
}

// fanInWindow is the longest window of rs's fan-in rules; 0 if there are none.
func fanInWindow(rs []rules.Rule) time.Duration {
	var w time.Duration
	for i := range rs {
		if rs[i].Pattern == rules.PatternFanIn && rs[i].Window > w {
			w = rs[i].Window
		}
	}
	return w
}

// Run processes entries of the chains it owns until ctx ends; the entries it holds then are
// finished and acknowledged (within DrainTimeout) and its chains released. It returns ctx's
// error, or a queue error.
func (w *Worker) Run(ctx context.Context) error {
	defer w.releaseAll(ctx)
	defer w.finishAhead(ctx)
	for ctx.Err() == nil {
		ownsAny := false
		for _, chain := range w.opts.Chains {
			owns, err := w.own(ctx, chain)
			if err == nil && owns {
				ownsAny = true
				err = w.round(ctx, chain)
			}
			if err != nil {
				// Retry what is pending, in order, first; at shutdown, finish nothing read
				// ahead past what failed (finishAhead): the next owner judges it in order.
				w.recovered[chain] = false
				if ctx.Err() != nil {
					break
				}
				if errors.Is(err, taint.ErrFenced) {
					w.log.Warn("lost the ownership of a chain during a round; another "+
						"worker has it", zap.String("chain", chain), zap.Error(err))
					delete(w.owned, chain) // stand by until it can be owned again
				} else {
					w.log.Error("processing failed; the entries stay pending and are retried",
						zap.String("chain", chain), zap.Error(err))
				}
				w.cache.invalidate(chain) // a failed write may or may not have happened
				if err := sleep(ctx, w.readBlock()); err != nil {
					return err
				}
			}
		}
		if !ownsAny { // standing by
			if err := sleep(ctx, w.readBlock()); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// readBlock is the longest a read may wait: short enough to renew ownership in time.
func (w *Worker) readBlock() time.Duration {
	return min(w.opts.Block, w.opts.ClaimIdle/4)
}

// own acquires or renews the worker's ownership of chain, at most every ClaimIdle/4 while
// it holds it. A chain newly owned is recovered first: whatever its previous owner left
// pending is processed before new entries.
func (w *Worker) own(ctx context.Context, chain string) (bool, error) {
	last, had := w.owned[chain]
	if had && time.Since(last) < w.opts.ClaimIdle/4 {
		return true, nil
	}
	asked := time.Now() // the ownership Own grants or renews lasts from after this
	ok, err := w.owner.Own(ctx, chain, w.opts.Name, w.opts.ClaimIdle)
	switch {
	case err != nil:
		return false, err
	case !ok && had:
		w.log.Warn("lost the ownership of a chain (renewed too late)",
			zap.String("chain", chain), zap.Duration("since_renewal", time.Since(last)))
		delete(w.owned, chain)
		w.recovered[chain] = false
		w.cache.forget(chain)
	case ok && had && asked.Sub(last) >= w.opts.ClaimIdle:
		// Renewed after it may have run out: another worker may have owned the chain,
		// written and let it go meanwhile.
		w.log.Warn("owns chain again after its ownership may have run out",
			zap.String("chain", chain), zap.Duration("since_renewal", asked.Sub(last)))
		if err := w.ownAfresh(chain); err != nil {
			return false, err
		}
	case ok && !had:
		w.log.Info("owns chain", zap.String("chain", chain))
		if err := w.ownAfresh(chain); err != nil {
			return false, err
		}
	}
	if ok {
		w.owned[chain] = asked
	}
	return ok, nil
}

// ownAfresh readies chain, which another owner may have had meanwhile, to be owned: it is
// recovered first, its cached states are read again (the other may have written), and its
// learners start afresh.
func (w *Worker) ownAfresh(chain string) error {
	w.recovered[chain] = false
	w.cache.forget(chain)
	return w.learnAfresh(chain)
}

// releaseAll gives up the worker's chains so that a standby takes over at once.
func (w *Worker) releaseAll(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.opts.DrainTimeout)
	defer cancel()
	for chain := range w.owned {
		if err := w.owner.Release(ctx, chain, w.opts.Name); err != nil {
			w.log.Warn("release chain", zap.String("chain", chain), zap.Error(err))
		}
	}
}

// round finishes what is pending first (after taking the chain over, or after a failure),
// or reads new entries, and processes them.
//
// While it processes a batch it reads the next one (without waiting for entries to arrive),
// so that the queue's round trip overlaps the work. What it read ahead is pending under its
// name: if the batch fails or the chain is lost it is dropped here and recovered in order
// with everything else pending; at shutdown it is finished (finishAhead).
func (w *Worker) round(ctx context.Context, chain string) error {
	if err := w.prepare(ctx, chain); err != nil {
		return err
	}
	msgs := w.ahead[chain]
	delete(w.ahead, chain)
	if !w.recovered[chain] {
		if err := w.warm(ctx, chain); err != nil {
			return err
		}
		return w.recover(ctx, chain)
	}
	if len(msgs) == 0 {
		block := w.readBlock() / time.Duration(len(w.opts.Chains))
		var err error
		if msgs, err = w.consumer.Read(ctx, chain, w.opts.Name, w.opts.Batch, block); err != nil {
			return err
		}
		if len(msgs) == 0 {
			return nil
		}
	}
	var next []queue.Message
	var nextErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		next, nextErr = w.consumer.Read(ctx, chain, w.opts.Name, w.opts.Batch, 0)
	}()
	err := w.process(ctx, chain, msgs)
	<-done
	if len(next) > 0 {
		w.ahead[chain] = next
	}
	if err != nil {
		return err
	}
	if nextErr != nil && ctx.Err() == nil {
		return nextErr
	}
	return nil
}

// finishAhead processes what the worker read ahead before it was asked to stop, on the
// chains it still owns, so that a graceful stop leaves nothing of its own pending.
func (w *Worker) finishAhead(ctx context.Context) {
	for chain, msgs := range w.ahead {
		if _, owned := w.owned[chain]; !owned || !w.recovered[chain] {
			continue
		}
		if err := w.process(ctx, chain, msgs); err != nil {
			w.log.Warn("entries read ahead stay pending for the next owner",
				zap.String("chain", chain), zap.Error(err))
		}
	}
	clear(w.ahead)
}

// recover takes over every pending entry of the chain, whoever holds it, and processes them
// in order before any new entry is read. Following funds hop by hop needs stream order: a
// worker that took a chain over must not judge a movement before the earlier ones the dead
// owner left unfinished, nor may a worker whose batch failed move past that batch. Taking
// over an entry a live worker also holds only repeats idempotent work.
func (w *Worker) recover(ctx context.Context, chain string) error {
	for {
		msgs, err := w.consumer.Claim(ctx, chain, w.opts.Name, 0, w.opts.Batch)
		if err != nil {
			return err
		}
		if len(msgs) > 0 {
			w.log.Info("taking over pending entries", zap.String("chain", chain),
				zap.Int("entries", len(msgs)))
		}
		if err := w.process(ctx, chain, msgs); err != nil {
			return err
		}
		if len(msgs) < w.opts.Batch {
			w.recovered[chain] = true
			return nil
		}
	}
}

// prepare reads what the cache needs of a chain it knows nothing of (which bases hold
// taint: seconds for millions) before entries are processed, outside their DrainTimeout,
// and keeps the chain meanwhile.
func (w *Worker) prepare(ctx context.Context, chain string) error {
	if w.cache.chains[chain] != nil {
		return nil
	}
	defer w.keepalive(ctx, chain)()
	_, err := w.cache.chain(ctx, w.store, chain)
	return err
}

// process handles entries in order and acknowledges them. Runs of entries without removed
// movements are handled as one batch; an entry with a reorg's removed movements is handled
// one movement at a time, in order.
func (w *Worker) process(ctx context.Context, chain string, msgs []queue.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	// What was read is finished even if shutdown is asked meanwhile.
	work, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.opts.DrainTimeout)
	defer cancel()
	defer w.keepalive(work, chain)()
	var batch []chains.Movement
	var ids []string
	flush := func() error {
		if len(ids) == 0 {
			return nil
		}
		if err := w.handleBatch(work, chain, batch); err != nil {
			return fmt.Errorf("entries %s..%s: %w", ids[0], ids[len(ids)-1], err)
		}
		if err := w.consumer.Ack(work, chain, ids...); err != nil {
			return err
		}
		batch, ids = batch[:0], ids[:0]
		return nil
	}
	for _, msg := range msgs {
		ms, removed := w.decode(chain, msg)
		if !removed {
			batch, ids = append(batch, ms...), append(ids, msg.ID)
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		for i := range ms {
			if err := w.handle(work, &ms[i]); err != nil {
				return fmt.Errorf("entry %s: %w", msg.ID, err)
			}
		}
		if err := w.consumer.Ack(work, chain, msg.ID); err != nil {
			return err
		}
	}
	return flush()
}

// decode decodes an entry's movements; removed reports whether any is a reorg's removed
// movement. An entry or a movement that cannot be decoded can never be processed, and
// keeping it would block the stream: it is logged and left out.
func (w *Worker) decode(chain string, msg queue.Message) (ms []chains.Movement, removed bool) {
	if msg.Err != nil {
		w.log.Error("dropping a malformed queue entry", zap.String("chain", chain),
			zap.String("id", msg.ID), zap.Error(msg.Err))
		return nil, false
	}
	ms, removed, errs := movementsOf(msg)
	for i, err := range errs {
		if err != nil {
			w.log.Error("dropping a malformed movement", zap.String("chain", chain),
				zap.String("id", msg.ID), zap.Int("index", i), zap.Error(err))
		}
	}
	return ms, removed
}

// movementsOf decodes the movements of msg, an entry that decoded, leaving out those that
// do not decode; errs, when not nil, says by index why (nil for those decoded), and
// removed whether any decoded is a reorg's removed movement.
func movementsOf(msg queue.Message) (ms []chains.Movement, removed bool, errs []error) {
	all, errs := chains.UnmarshalMovements(msg.Payloads)
	ms = all[:0]
	for i := range all {
		if errs != nil && errs[i] != nil {
			continue
		}
		removed = removed || all[i].Removed
		ms = append(ms, all[i])
	}
	return ms, removed, errs
}
