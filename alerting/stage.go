package alerting

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"
)

// Stage processes alerts and returns those that go on to the next stage. An error means the
// alerts were not accepted: the caller keeps them (does not acknowledge their movement).
type Stage interface {
	Exec(ctx context.Context, alerts ...Alert) ([]Alert, error)
}

// Sequence runs stages one after another, each on what the previous passed on.
type Sequence []Stage

// Exec implements Stage.
func (s Sequence) Exec(ctx context.Context, alerts ...Alert) ([]Alert, error) {
	var err error
	for _, st := range s {
		if len(alerts) == 0 {
			return nil, nil
		}
		if alerts, err = st.Exec(ctx, alerts...); err != nil {
			return nil, err
		}
	}
	return alerts, nil
}

// Notifier delivers alerts somewhere: a sink. retry says whether trying again may help (a
// 503, a timeout) as opposed to a permanent refusal (a 400); an error that knows when to
// try again is a *RetryAfter. The alerts of one call are one notification: they share an
// Incident, when they have one, and the sink sends them as one message where it can.
type Notifier interface {
	Notify(ctx context.Context, alerts ...Alert) (retry bool, err error)
}

// Defaults for Retry.
const (
	DefaultRetryMin      = 500 * time.Millisecond
	DefaultRetryMax      = 30 * time.Second
	DefaultRetryAttempts = 8
)

// Retry is the stage that delivers to one Notifier at once, trying again with exponential
// backoff and jitter (or after the Retry-After the sink gave) while the notifier says so,
// up to Attempts tries. It holds its caller up while it tries: flowwatch run delivers
// through the Dispatcher instead, off the workers' path; Retry is for simple embeddings
// and tests.
type Retry struct {
	Name     string
	Notifier Notifier
	Min, Max time.Duration
	Attempts int
	Logger   *zap.Logger
}

// Exec implements Stage.
func (r *Retry) Exec(ctx context.Context, alerts ...Alert) ([]Alert, error) {
	lo, hi, attempts := r.Min, r.Max, r.Attempts
	if lo == 0 {
		lo = DefaultRetryMin
	}
	if hi == 0 {
		hi = DefaultRetryMax
	}
	if attempts == 0 {
		attempts = DefaultRetryAttempts
	}
	log := r.Logger
	if log == nil {
		log = zap.NewNop()
	}
	d := lo
	for try := 1; ; try++ {
		retry, err := r.Notifier.Notify(ctx, alerts...)
		if err == nil {
			return alerts, nil
		}
		if !retry || try >= attempts {
			return nil, fmt.Errorf("sink %s: %w", r.Name, err)
		}
		log.Warn("sink failed; retrying", zap.String("sink", r.Name), zap.Int("try", try),
			zap.Error(err))
		wait := d/2 + rand.N(d/2+1)
		if ra := (*RetryAfter)(nil); errors.As(err, &ra) {
			wait = min(ra.Wait, MaxRetryAfter)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("sink %s: %w (gave up: %v)", r.Name, err, ctx.Err())
		case <-time.After(wait):
		}
		d = min(2*d, hi)
	}
}
