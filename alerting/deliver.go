package alerting

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// RetryAfter is a sink's error that says when to try again (an HTTP 429 or 503 with a
// Retry-After header): the deliverer waits that long, not its own backoff.
type RetryAfter struct {
	Wait time.Duration
	Err  error
}

func (e *RetryAfter) Error() string { return e.Err.Error() }
func (e *RetryAfter) Unwrap() error { return e.Err }

// MaxRetryAfter caps a wait a sink asks for.
const MaxRetryAfter = 10 * time.Minute

// DrainTimeout bounds finishing a delivery under way when the dispatcher stops.
const DrainTimeout = 15 * time.Second

// SinkOptions are a sink and how it is delivered to.
type SinkOptions struct {
	Notifier Notifier
	// Rate limits notifications per second (0: none), with bursts of Burst (0: 1).
	Rate  float64
	Burst int
	// RetryMin and RetryMax bound the backoff between tries of a notification that failed
	// in a way worth retrying (0: DefaultRetryMin, DefaultRetryMax). A notification is
	// tried until the sink takes it or refuses it for good: nothing is dropped for being
	// late.
	RetryMin, RetryMax time.Duration
}

func (s *SinkOptions) validate() error {
	switch {
	case s.Notifier == nil:
		return errors.New("no notifier")
	case s.Rate < 0 || s.Burst < 0:
		return fmt.Errorf("rate %g burst %d: want 0 or more", s.Rate, s.Burst)
	case s.RetryMin < 0 || s.RetryMax < 0:
		return errors.New("retry backoff: want 0 or more")
	}
	return nil
}

// deliverer sends one sink's queue, in order, while its dispatcher leads.
type deliverer struct {
	name    string
	opts    SinkOptions
	store   DispatchStore
	leading *atomic.Bool
	queued  <-chan struct{}
	poll    time.Duration
	limit   *rate.Limiter
	log     *zap.Logger
}

func newDeliverer(name string, opts SinkOptions, store DispatchStore, leading *atomic.Bool,
	queued <-chan struct{}, poll time.Duration, log *zap.Logger) *deliverer {
	if opts.RetryMin == 0 {
		opts.RetryMin = DefaultRetryMin
	}
	if opts.RetryMax == 0 {
		opts.RetryMax = DefaultRetryMax
	}
	limit := rate.NewLimiter(rate.Inf, 1)
	if opts.Rate > 0 {
		limit = rate.NewLimiter(rate.Limit(opts.Rate), max(opts.Burst, 1))
	}
	return &deliverer{name: name, opts: opts, store: store, leading: leading, queued: queued,
		poll: poll, limit: limit, log: log.With(zap.String("sink", name))}
}

// run delivers until ctx ends; it returns ctx's error.
func (dl *deliverer) run(ctx context.Context) error {
	backoff := dl.opts.RetryMin
	tries := 0
	for {
		wait, wake := dl.poll, dl.queued
		if dl.leading.Load() {
			q, ok, err := dl.store.Head(ctx, dl.name)
			switch {
			case err != nil:
				if ctx.Err() == nil {
					dl.log.Warn("read sink queue", zap.Error(err))
				}
			case ok:
				if wait, err = dl.deliver(ctx, q, &tries, &backoff); err != nil {
					return err
				}
				if tries > 0 {
					wake = nil // a failing sink waits its backoff out, whatever is queued
				}
			}
		}
		if err := sleep(ctx, wait, wake); err != nil {
			return err
		}
	}
}

// deliver tries the notification at the head of the queue once and says how long to wait
// before the next try (0: go on at once). Only ctx ending is an error.
func (dl *deliverer) deliver(ctx context.Context, q Queued, tries *int,
	backoff *time.Duration) (time.Duration, error) {
	if err := dl.limit.Wait(ctx); err != nil {
		return 0, ctx.Err()
	}
	// A delivery under way is finished, and marked, even when ctx ends (a graceful stop):
	// cut off, the receiver might have it and the next leader would send it again.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DrainTimeout)
	defer cancel()
	retry, err := dl.opts.Notifier.Notify(dctx, q.Alerts...)
	failure := ""
	if err != nil && !retry {
		failure = err.Error()
		dl.log.Error("sink refused a notification for good; kept in its dead letters",
			zap.String("notification", q.ID), zap.Error(err))
	}
	if err != nil && retry {
		*tries++
		wait := *backoff/2 + rand.N(*backoff/2+1)
		var ra *RetryAfter
		if errors.As(err, &ra) {
			wait = min(ra.Wait, MaxRetryAfter)
		}
		dl.log.Warn("sink failed; trying again", zap.String("notification", q.ID),
			zap.Int("try", *tries), zap.Duration("wait", wait), zap.Error(err))
		*backoff = min(2**backoff, dl.opts.RetryMax)
		return wait, nil
	}
	*tries, *backoff = 0, dl.opts.RetryMin
	if err := dl.store.Done(dctx, dl.name, q.ID, failure); err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		// Delivered but not marked: it goes again (the receiver drops it by its key).
		dl.log.Warn("mark notification delivered", zap.String("notification", q.ID),
			zap.Error(err))
		return dl.poll, nil
	}
	return 0, nil
}

// sleep waits for wait, or for wake (nil: none), or for ctx to end (its error); a wait of
// 0 returns at once.
func sleep(ctx context.Context, wait time.Duration, wake <-chan struct{}) error {
	if wait <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	case <-wake:
	}
	return nil
}
