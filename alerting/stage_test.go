package alerting

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// scripted is a notifier that answers each call with the next of its answers (the last
// again once they run out), and counts the calls.
type scripted struct {
	answers []answer
	calls   int
}

type answer struct {
	retry bool
	err   error
}

func (s *scripted) Notify(context.Context, ...Alert) (bool, error) {
	a := s.answers[min(s.calls, len(s.answers)-1)]
	s.calls++
	return a.retry, a.err
}

var _ Notifier = (*scripted)(nil)

// TestRetry: the Retry stage tries again while the sink says it may help, up to its
// attempts, and gives up at once on a refusal; an error is the sink's, named.
func TestRetry(t *testing.T) {
	busy := answer{true, errors.New("503 service unavailable")}
	later := answer{true, &RetryAfter{Wait: time.Millisecond, Err: errors.New("429")}}
	tests := []struct {
		name      string
		give      []answer
		attempts  int
		wantCalls int
		wantErr   string // "": delivered
	}{
		{"delivered", []answer{{}}, 3, 1, ""},
		{"delivered after two failures", []answer{busy, later, {}}, 3, 3, ""},
		{"refused for good", []answer{{false, errors.New("400 bad payload")}}, 3, 1,
			"sink hook: 400 bad payload"},
		{"attempts run out", []answer{busy}, 3, 3, "sink hook: 503 service unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := &scripted{answers: tt.give}
			r := &Retry{Name: "hook", Notifier: n, Min: time.Microsecond,
				Max: time.Millisecond, Attempts: tt.attempts, Logger: zaptest.NewLogger(t)}
			as := []Alert{{ID: "a1"}}
			got, err := r.Exec(context.Background(), as...)
			switch {
			case tt.wantErr == "" && (err != nil || len(got) != 1):
				t.Fatalf("got %v, %v; want the alert passed on", got, err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr || got != nil):
				t.Fatalf("got %v, %v; want the error %q", got, err, tt.wantErr)
			}
			if n.calls != tt.wantCalls {
				t.Fatalf("%d calls, want %d", n.calls, tt.wantCalls)
			}
		})
	}
	// A stop while it waits to try again ends the wait, with the sink's error.
	ctx, cancel := context.WithCancel(context.Background())
	n := &scripted{answers: []answer{busy}}
	r := &Retry{Name: "hook", Notifier: n, Min: time.Hour, Max: time.Hour}
	done := make(chan error, 1)
	go func() { _, err := r.Exec(ctx, Alert{ID: "a1"}); done <- err }()
	cancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "gave up: context canceled") {
		t.Fatalf("stopped while waiting: %v", err)
	}
}

// filter is a stage that passes on the alerts keep says to.
type filter func(Alert) bool

func (f filter) Exec(_ context.Context, alerts ...Alert) ([]Alert, error) {
	var out []Alert
	for _, a := range alerts {
		if f(a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// TestSequence: each stage gets what the one before passed on; nothing passed on ends the
// sequence; an error ends it, unaccepted.
func TestSequence(t *testing.T) {
	n := &scripted{answers: []answer{{}}}
	notify := &Retry{Name: "hook", Notifier: n, Attempts: 1}
	notCritical := filter(func(a Alert) bool { return a.Severity != "critical" })
	got, err := Sequence{notCritical, notify}.Exec(context.Background(),
		Alert{ID: "a1", Severity: "critical"}, Alert{ID: "a2", Severity: "high"})
	if err != nil || len(got) != 1 || got[0].ID != "a2" || n.calls != 1 {
		t.Fatalf("got %v, %v, %d notifications", got, err, n.calls)
	}
	got, err = Sequence{notCritical, notify}.Exec(context.Background(),
		Alert{ID: "a1", Severity: "critical"})
	if err != nil || got != nil || n.calls != 1 {
		t.Fatalf("all filtered out: got %v, %v, %d notifications", got, err, n.calls)
	}
	refused := &Retry{Name: "hook", Notifier: &scripted{answers: []answer{{false,
		errors.New("403")}}}}
	got, err = Sequence{refused, notify}.Exec(context.Background(), Alert{ID: "a3"})
	if err == nil || got != nil || n.calls != 1 {
		t.Fatalf("refused: got %v, %v, %d notifications after it", got, err, n.calls)
	}
}
