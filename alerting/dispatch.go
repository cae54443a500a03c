package alerting

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// Defaults for DispatcherOptions.
const (
	DefaultDispatchPoll = 250 * time.Millisecond
	DefaultLeaseTTL     = 15 * time.Second
	// dispatchPage bounds the journal entries one step reads.
	dispatchPage = 500
	// releaseTimeout bounds the release of the lease when Run stops.
	releaseTimeout = 5 * time.Second
)

// DispatcherOptions configure a Dispatcher.
type DispatcherOptions struct {
	// Name is this process's name for the lease; unique per process.
	Name  string
	Group GroupOptions
	// Route is the routing tree; RuleSinks adds, per rule, sinks its notifications go to
	// whatever the tree says (a config's rules name their sinks).
	Route     RouteNode
	RuleSinks map[string][]string
	// Sinks are the notifiers by name, each with its delivery options.
	Sinks map[string]SinkOptions
	// Poll is how often the journal and the sinks' queues are looked at when nothing woke
	// the dispatcher; LeaseTTL how long its lease lasts unrenewed.
	Poll, LeaseTTL time.Duration
	Logger         *zap.Logger
	// Now is the clock the incidents' timers run on (nil: time.Now).
	Now func() time.Time
}

func (o *DispatcherOptions) setDefaults() {
	if o.Poll == 0 {
		o.Poll = DefaultDispatchPoll
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Validate reports the first invalid option, naming it.
func (o *DispatcherOptions) Validate() error {
	if o.Name == "" {
		return errors.New("dispatcher name: empty")
	}
	if err := o.Group.Validate(); err != nil {
		return err
	}
	names := o.Route.SinkNames()
	for _, ss := range o.RuleSinks {
		names = append(names, ss...)
	}
	for _, n := range names {
		if _, ok := o.Sinks[n]; !ok {
			return fmt.Errorf("route: no sink %q", n)
		}
	}
	for name, s := range o.Sinks {
		if err := s.validate(); err != nil {
			return fmt.Errorf("sink %s: %w", name, err)
		}
	}
	return nil
}

// Dispatcher turns the journal's alerts into notifications and delivers them: it gathers
// them into incidents (Grouper), routes each notification to its sinks (RouteNode) and
// queues it there durably (DispatchStore), all in one save per step; one deliverer per
// sink then sends its queue in order, within its rate limit, retrying what fails with
// backoff (honouring a Retry-After) until the sink takes it or refuses it for good.
//
// Several processes may run one: a lease (Leaser) makes one of them dispatch and deliver,
// and its saves are fenced by the lease. A crash loses nothing (what was read, grouped and
// queued is saved together); a notification delivered just before a crash may be sent
// again, under the same key (Alert.NotificationKey) for the receiver to drop.
type Dispatcher struct {
	journal Journal
	store   DispatchStore
	leaser  Leaser
	opts    DispatcherOptions
	log     *zap.Logger
	leading atomic.Bool
	wake    chan struct{}            // new journal entries
	queued  map[string]chan struct{} // per sink: new notifications queued
}

// NewDispatcher returns a dispatcher reading j, keeping its state in store, leading by
// leaser.
func NewDispatcher(j Journal, store DispatchStore, leaser Leaser,
	opts DispatcherOptions) (*Dispatcher, error) {
	opts.setDefaults()
	opts.Group.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	d := &Dispatcher{journal: j, store: store, leaser: leaser, opts: opts,
		log:  opts.Logger.With(zap.String("dispatcher", opts.Name)),
		wake: make(chan struct{}, 1), queued: map[string]chan struct{}{}}
	for name := range opts.Sinks {
		d.queued[name] = make(chan struct{}, 1)
	}
	return d, nil
}

// Wake tells the dispatcher that the journal has new entries. Safe for concurrent use.
func (d *Dispatcher) Wake() { signal(d.wake) }

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Leading says whether this dispatcher holds the lease. Safe for concurrent use.
func (d *Dispatcher) Leading() bool { return d.leading.Load() }

// Run dispatches and delivers until ctx ends; it returns ctx's error. Once its dispatching
// and delivering have stopped, it gives the lease up, if it led, so that another process
// leads at once rather than when the lease runs out.
func (d *Dispatcher) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return d.dispatch(gctx) })
	for name, s := range d.opts.Sinks {
		dl := newDeliverer(name, s, d.store, &d.leading, d.queued[name], d.opts.Poll, d.log)
		g.Go(func() error { return dl.run(gctx) })
	}
	err := g.Wait()
	if d.leading.Swap(false) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		if rerr := d.leaser.Release(rctx, d.opts.Name); rerr != nil {
			d.log.Warn("the dispatcher lease runs out instead", zap.Error(rerr))
		}
	}
	return err
}

// dispatch is the grouping loop: while leading, it reads the journal, groups, and saves
// what is due in the sinks' queues.
func (d *Dispatcher) dispatch(ctx context.Context) error {
	var g *Grouper
	var cursor uint64
	for {
		lead, err := d.leaser.Lead(ctx, d.opts.Name, d.opts.LeaseTTL)
		if ctx.Err() != nil {
			// Stopped while renewing: what it held it still holds, for Run to give up.
			return ctx.Err()
		}
		if err != nil {
			d.log.Warn("dispatcher lease", zap.Error(err))
		}
		leads := lead && err == nil
		if leads && !d.leading.Load() {
			d.log.Info("dispatching alerts")
		}
		d.leading.Store(leads)
		if !d.leading.Load() {
			g = nil
			if err := sleep(ctx, d.opts.LeaseTTL/3, nil); err != nil {
				return err
			}
			continue
		}
		if g == nil {
			if g, cursor, err = d.load(ctx); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				d.log.Warn("load dispatcher state", zap.Error(err))
				if err := sleep(ctx, d.opts.Poll, nil); err != nil {
					return err
				}
				continue
			}
		}
		more, err := d.step(ctx, g, &cursor)
		if err != nil {
			g = nil // what the store holds is the truth: start again from it
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, ErrNotLeader) {
				d.leading.Store(false)
				d.log.Info("another process dispatches alerts now")
			} else {
				d.log.Warn("dispatch alerts", zap.Error(err))
			}
		}
		if more && err == nil {
			continue
		}
		wait := d.opts.Poll
		if g != nil {
			if next := g.Next(); !next.IsZero() {
				wait = min(wait, max(0, next.Sub(d.opts.Now())))
			}
		}
		if err := sleep(ctx, wait, d.wake); err != nil {
			return err
		}
	}
}

// load reads the saved state into a new Grouper.
func (d *Dispatcher) load(ctx context.Context) (*Grouper, uint64, error) {
	cursor, ins, err := d.store.Load(ctx)
	if err != nil {
		return nil, 0, err
	}
	g, err := NewGrouper(d.opts.Group)
	if err != nil {
		return nil, 0, err
	}
	if err := g.restore(ins); err != nil {
		return nil, 0, err
	}
	return g, cursor, nil
}

// step reads a page of the journal after cursor into g, takes what is due, and saves it
// all; more says a full page was read.
func (d *Dispatcher) step(ctx context.Context, g *Grouper, cursor *uint64) (bool, error) {
	now := d.opts.Now()
	gone := g.Expire(now)
	es, err := d.journal.Entries(ctx, *cursor, dispatchPage)
	if err != nil {
		return false, err
	}
	next := *cursor
	for i := range es {
		e := &es[i]
		next = e.Seq
		if e.Err != nil { // an edited entry: `flowwatch alerts verify` tells the rest
			d.log.Error("alert log entry does not decode; skipped", zap.Uint64("seq", e.Seq),
				zap.Error(e.Err))
			continue
		}
		g.Add(now, e.Alert)
	}
	queued := map[string][]Queued{}
	for _, n := range g.Due(now) {
		sinks := d.route(&n[0])
		if len(sinks) == 0 {
			d.log.Warn("no sink routes this notification", zap.String("rule", n[0].Rule),
				zap.String("incident", n[0].Incident.ID))
		}
		for _, s := range sinks {
			queued[s] = append(queued[s], Queued{ID: n[0].NotificationKey(), Alerts: n})
		}
	}
	if err := d.store.Save(ctx, Changes{Holder: d.opts.Name, Cursor: next,
		Incidents: g.TakeChanged(), Gone: gone, Queued: queued}); err != nil {
		return false, err
	}
	*cursor = next
	for s := range queued {
		signal(d.queued[s])
	}
	return len(es) == dispatchPage, nil
}

// route is the sinks a notification goes to: the tree's and its rule's.
func (d *Dispatcher) route(a *Alert) []string {
	out := d.opts.Route.Route(a)
	for _, s := range d.opts.RuleSinks[a.Rule] {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
