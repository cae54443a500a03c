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

// StageFunc adapts a function to Stage.
type StageFunc func(ctx context.Context, alerts ...Alert) ([]Alert, error)

// Exec implements Stage.
func (f StageFunc) Exec(ctx context.Context, alerts ...Alert) ([]Alert, error) {
	return f(ctx, alerts...)
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

// Fanout runs stages side by side on the same alerts; it fails if any fails, and passes
// on the alerts unchanged.
type Fanout []Stage

// Exec implements Stage.
func (f Fanout) Exec(ctx context.Context, alerts ...Alert) ([]Alert, error) {
	errs := make([]error, len(f))
	done := make(chan struct{}, len(f))
	for i, st := range f {
		go func() {
			defer func() { done <- struct{}{} }()
			_, errs[i] = st.Exec(ctx, alerts...)
		}()
	}
	for range f {
		<-done
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return alerts, nil
}

// Notifier delivers alerts somewhere. retry says whether trying again may help (a 503, a
// timeout) as opposed to a permanent refusal (a 400).
type Notifier interface {
	Notify(ctx context.Context, alerts ...Alert) (retry bool, err error)
}

// Defaults for Retry.
const (
	DefaultRetryMin      = 500 * time.Millisecond
	DefaultRetryMax      = 30 * time.Second
	DefaultRetryAttempts = 8
)

// Retry is the stage that delivers to one Notifier, trying again with exponential backoff
// and jitter while the notifier says so, up to Attempts tries.
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
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("sink %s: %w (gave up: %v)", r.Name, err, ctx.Err())
		case <-time.After(wait):
		}
		d = min(2*d, hi)
	}
}

// Route sends each alert on to the stage of its rule, or to Default (nil: nowhere), as
// Alertmanager's routing tree does at its simplest.
type Route struct {
	ByRule  map[string]Stage
	Default Stage
}

// Exec implements Stage. It passes on every alert that a route accepted.
func (r *Route) Exec(ctx context.Context, alerts ...Alert) ([]Alert, error) {
	const dflt = "\x00default"
	groups := map[string][]Alert{}
	var order []string
	for _, a := range alerts {
		key := a.Rule
		if _, ok := r.ByRule[key]; !ok {
			if r.Default == nil {
				continue
			}
			key = dflt
		}
		if _, seen := groups[key]; !seen {
			order = append(order, key)
		}
		groups[key] = append(groups[key], a)
	}
	var out []Alert
	for _, key := range order {
		st := r.Default
		if key != dflt {
			st = r.ByRule[key]
		}
		passed, err := st.Exec(ctx, groups[key]...)
		if err != nil {
			return nil, err
		}
		out = append(out, passed...)
	}
	return out, nil
}
