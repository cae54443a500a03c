package alerting_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/pagerduty"
	"github.com/flowwatch/flowwatch/alerting/webhook"
	"github.com/flowwatch/flowwatch/internal/redistest"
)

const hookSecret = "dispatch-test-secret"

// inbox is a webhook receiver: it verifies each request, answers with the statuses queued
// in fail (then 200), and keeps the notifications it accepted.
type inbox struct {
	mu       sync.Mutex
	fail     []int
	requests int
	got      []webhook.Payload
	byKey    map[string]int
}

func (b *inbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, err := webhook.Receive(r, []byte(hookSecret), time.Now(), time.Minute)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.requests++
	if errors.Is(err, webhook.ErrUnverified) {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if len(b.fail) > 0 {
		code := b.fail[0]
		b.fail = b.fail[1:]
		if code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		http.Error(w, http.StatusText(code), code)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if b.byKey == nil {
		b.byKey = map[string]int{}
	}
	b.byKey[p.Key]++
	b.got = append(b.got, p)
}

// alerts returns how many alert notifications arrived, and how often each alert (by its
// DedupKey) arrived in a distinct notification.
func (b *inbox) alerts() (int, map[string]int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, per := 0, map[string]int{}
	seen := map[string]bool{}
	for _, p := range b.got {
		if seen[p.Key] {
			continue // a repeat of a notification: the receiver drops it by its key
		}
		seen[p.Key] = true
		for _, a := range p.Alerts {
			n++
			per[a.DedupKey()]++
		}
	}
	return n, per
}

func (b *inbox) snapshot() ([]webhook.Payload, map[string]int, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	keys := map[string]int{}
	for k, v := range b.byKey {
		keys[k] = v
	}
	return append([]webhook.Payload(nil), b.got...), keys, b.requests
}

func startInbox(t *testing.T, fail ...int) (*inbox, alerting.Notifier) {
	t.Helper()
	b := &inbox{fail: fail}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	hook, err := webhook.New(webhook.Config{URL: srv.URL, Secret: hookSecret}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b, hook
}

// flow is alert n of flow f (Lazarus to exchange f).
func flow(f, n int) alerting.Alert {
	tx := fmt.Sprintf("0x%02x%06x", f, n)
	return alerting.Alert{ID: alerting.AlertID("to-exchange", "ethereum", tx, "tx"),
		Rule: "to-exchange", Severity: "high", State: alerting.StateConfirmed,
		Chain: "ethereum", Block: uint64(n), BlockHash: "0xb", Time: time.Unix(1.7e9, 0),
		Tx: tx, Position: "tx", Source: alerting.Party{Address: "0xs", Entity: "Lazarus"},
		Destination: alerting.Party{Address: fmt.Sprintf("0xd%d", f),
			Entity: "exchange " + strconv.Itoa(f), Category: "exchange"},
		Asset: "native", Amount: "1000", Path: make([]alerting.Hop, 2)}
}

// runDispatcher runs a dispatcher until the test ends (or stop is called).
func runDispatcher(t *testing.T, j alerting.Journal, store alerting.DispatchStore,
	leaser alerting.Leaser, opts alerting.DispatcherOptions) (*alerting.Dispatcher, func()) {
	t.Helper()
	opts.Logger = zaptest.NewLogger(t)
	d, err := alerting.NewDispatcher(j, store, leaser, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != context.Canceled {
				t.Errorf("dispatcher: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return d, stop
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
}

func hookOpts(hook alerting.Notifier, g alerting.GroupOptions) alerting.DispatcherOptions {
	return alerting.DispatcherOptions{Name: "d1", Group: g,
		Route: alerting.RouteNode{Sinks: []string{"hook"}},
		Sinks: map[string]alerting.SinkOptions{"hook": {Notifier: hook,
			RetryMin: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond}},
		Poll: 20 * time.Millisecond, LeaseTTL: 300 * time.Millisecond}
}

// TestDispatcherBurst: a burst of 1,000 alerts of one flow is one notification after the
// group wait; what comes after the first notification is one update.
func TestDispatcherBurst(t *testing.T) {
	ctx := context.Background()
	box, hook := startInbox(t)
	j := &alerting.MemoryJournal{}
	var burst []alerting.Alert
	for i := range 1000 {
		burst = append(burst, flow(1, i))
	}
	if _, err := j.Append(ctx, burst...); err != nil {
		t.Fatal(err)
	}
	store := &alerting.MemoryDispatch{}
	d, _ := runDispatcher(t, j, store, store, hookOpts(hook, alerting.GroupOptions{
		GroupWait:     500 * time.Millisecond,
		GroupInterval: 300 * time.Millisecond, RepeatInterval: -1}))
	waitFor(t, "the burst's notification", func() bool { n, _ := box.alerts(); return n >= 1000 })
	more := []alerting.Alert{flow(1, 2000), flow(1, 2001), flow(1, 2002)}
	if _, err := j.Append(ctx, more...); err != nil {
		t.Fatal(err)
	}
	d.Wake()
	waitFor(t, "the update", func() bool { n, _ := box.alerts(); return n >= 1003 })
	got, keys, requests := box.snapshot()
	if len(got) != 2 || len(got[0].Alerts) != 1000 || len(got[1].Alerts) != 3 ||
		requests != 2 {
		t.Fatalf("%d notifications in %d requests; want the burst in one, then one update",
			len(got), requests)
	}
	in := got[1].Incident
	if got[0].Incident.Reason != alerting.ReasonOpened || in.Reason != alerting.ReasonUpdated ||
		in.Seq != 2 || in.Alerts != 1003 || in.Totals["native"] != "1003000" ||
		in.ID != got[0].Incident.ID || keys[got[1].Key] != 1 {
		t.Fatalf("update %+v", in)
	}
}

// TestDispatcherRetries: a receiver answering 503, then 429 with Retry-After, then 200 gets
// the notification exactly once; one refusing it for good (400) does not hold up the next.
func TestDispatcherRetries(t *testing.T) {
	ctx := context.Background()
	box, hook := startInbox(t, http.StatusServiceUnavailable, http.StatusTooManyRequests)
	j := &alerting.MemoryJournal{}
	store := &alerting.MemoryDispatch{}
	d, _ := runDispatcher(t, j, store, store, hookOpts(hook,
		alerting.GroupOptions{ZeroWait: true}))
	if _, err := j.Append(ctx, flow(1, 1)); err != nil {
		t.Fatal(err)
	}
	d.Wake()
	waitFor(t, "the first notification", func() bool { n, _ := box.alerts(); return n == 1 })
	_, keys, requests := box.snapshot()
	if requests != 3 || len(keys) != 1 {
		t.Fatalf("%d requests, keys %v: want 3 requests, one notification", requests, keys)
	}
	box.mu.Lock()
	box.fail = []int{http.StatusBadRequest}
	box.mu.Unlock()
	if _, err := j.Append(ctx, flow(2, 1)); err != nil { // another flow: refused for good
		t.Fatal(err)
	}
	d.Wake()
	waitFor(t, "the dead letter", func() bool {
		dead, _ := store.Dead(ctx, "hook")
		return len(dead) == 1
	})
	if _, err := j.Append(ctx, flow(3, 1)); err != nil {
		t.Fatal(err)
	}
	d.Wake()
	waitFor(t, "the next flow's notification", func() bool { n, _ := box.alerts(); return n == 2 })
}

// TestDispatcherTakeOver: on Redis, a dispatcher stopped in the middle of a stream of
// alerts gives its lease up and is taken over by another; every alert reaches the
// receiver in exactly one notification, none twice. A second dispatcher running beside
// the first never delivers while the first leads.
func TestDispatcherTakeOver(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	box, hook := startInbox(t)
	j := alerting.NewRedisJournal(rdb, prefix, nil)
	store := alerting.NewRedisDispatch(rdb, prefix)
	g := alerting.GroupOptions{ZeroWait: true, GroupInterval: 30 * time.Millisecond,
		RepeatInterval: -1}
	optsA, optsB := hookOpts(hook, g), hookOpts(hook, g)
	optsB.Name = "d2"
	a, stopA := runDispatcher(t, j, store, store, optsA)
	waitFor(t, "a to lead", a.Leading)
	b, _ := runDispatcher(t, j, store, store, optsB)
	want := 0
	send := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if _, err := j.Append(ctx, flow(i%4, i)); err != nil {
				t.Fatal(err)
			}
			want++
		}
	}
	send(0, 200)
	waitFor(t, "some notifications", func() bool { n, _ := box.alerts(); return n > 50 })
	if b.Leading() {
		t.Fatal("two leaders")
	}
	stopA()
	// a gave its lease up as it stopped: b need not wait for it to run out.
	if holder, _ := rdb.Get(ctx, prefix+":{alerts}:dispatch:lease").Result(); holder ==
		optsA.Name {
		t.Fatalf("the stopped dispatcher %s still holds the lease", holder)
	}
	send(200, 400)
	waitFor(t, "b to lead", b.Leading)
	waitFor(t, "every alert", func() bool { n, _ := box.alerts(); return n >= want })
	n, per := box.alerts()
	_, keys, _ := box.snapshot()
	if n != want || len(per) != want {
		t.Fatalf("%d alert notifications of %d distinct alerts, want %d", n, len(per), want)
	}
	for k, c := range keys {
		if c != 1 {
			t.Fatalf("notification %s delivered %d times", k, c)
		}
	}
}

// TestDispatcherReleasesWhenStoppedInLead: a dispatcher stopped while it renews its lease
// (the renewal ends with the context's error) still gives the lease up, so that another
// process leads at once. It did not when the renewal's error cleared its leading first:
// TestDispatcherTakeOver failed now and then. The lease's renewal is made to wait for the
// stop, which a real Redis does not do on demand.
func TestDispatcherReleasesWhenStoppedInLead(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	_, hook := startInbox(t)
	store := alerting.NewRedisDispatch(rdb, prefix)
	leaser := &stallingLeaser{Leaser: store}
	opts := hookOpts(hook, alerting.GroupOptions{ZeroWait: true,
		GroupInterval: 30 * time.Millisecond, RepeatInterval: -1})
	d, stop := runDispatcher(t, alerting.NewRedisJournal(rdb, prefix, nil), store, leaser,
		opts)
	waitFor(t, "the dispatcher to lead and renew", func() bool {
		return d.Leading() && leaser.calls.Load() >= 2
	})
	stop()
	if holder, _ := rdb.Get(ctx, prefix+":{alerts}:dispatch:lease").Result(); holder ==
		opts.Name {
		t.Fatalf("the stopped dispatcher %s still holds the lease", holder)
	}
}

// stallingLeaser takes the lease once; every later Lead waits for its context to end.
type stallingLeaser struct {
	alerting.Leaser
	calls atomic.Int32
}

func (s *stallingLeaser) Lead(ctx context.Context, holder string, ttl time.Duration) (bool,
	error) {
	if s.calls.Add(1) == 1 {
		return s.Leaser.Lead(ctx, holder, ttl)
	}
	<-ctx.Done()
	return false, ctx.Err()
}

// pdService is PagerDuty's Events API as far as this test needs it: one incident per
// dedup key, triggered or resolved.
type pdService struct {
	mu        sync.Mutex
	incidents map[string]string
	events    int
}

func (s *pdService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var e pagerduty.Event
	if err := json.NewDecoder(r.Body).Decode(&e); err != nil || e.DedupKey == "" {
		http.Error(w, `{"status":"invalid event"}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events++
	s.incidents[e.DedupKey] = map[string]string{"trigger": "triggered",
		"resolve": "resolved"}[e.EventAction]
	w.WriteHeader(http.StatusAccepted)
}

func (s *pdService) state() (map[string]string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range s.incidents {
		out[k] = v
	}
	return out, s.events
}

// TestRetractionResolvesPagerDuty: an alert routed to PagerDuty (critical) triggers an
// incident; its retraction by a reorg resolves it. The alert log keeps both, the first
// unedited; the other flow's incident, not retracted, stays triggered.
func TestRetractionResolvesPagerDuty(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	svc := &pdService{incidents: map[string]string{}}
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	pd, err := pagerduty.New(pagerduty.Config{RoutingKey: "0123456789abcdef0123456789abcdef",
		URL: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	box, hook := startInbox(t)
	j := alerting.NewRedisJournal(rdb, prefix, nil)
	store := alerting.NewRedisDispatch(rdb, prefix)
	opts := hookOpts(hook, alerting.GroupOptions{ZeroWait: true, RepeatInterval: -1})
	opts.Route.Routes = []alerting.RouteNode{{Match: alerting.Match{
		Severity: []string{"critical"}}, Sinks: []string{"pagerduty"}, Continue: true},
		{Sinks: []string{"hook"}}} // and everything to the webhook
	opts.Sinks["pagerduty"] = alerting.SinkOptions{Notifier: pd}
	d, _ := runDispatcher(t, j, store, store, opts)

	mixed, other := flow(1, 1), flow(2, 1)
	mixed.Severity, other.Severity = "critical", "critical"
	if _, err := j.Append(ctx, mixed, other); err != nil {
		t.Fatal(err)
	}
	d.Wake()
	waitFor(t, "two incidents triggered", func() bool {
		in, _ := svc.state()
		return len(in) == 2
	})
	retracted := mixed
	retracted.State = alerting.StateRetracted
	if _, err := j.Append(ctx, retracted); err != nil {
		t.Fatal(err)
	}
	d.Wake()
	waitFor(t, "the resolve", func() bool {
		in, _ := svc.state()
		n := 0
		for _, s := range in {
			if s == "resolved" {
				n++
			}
		}
		return n == 1
	})
	waitFor(t, "the webhook's retraction", func() bool { n, _ := box.alerts(); return n == 3 })
	got, _, _ := box.snapshot()
	if last := got[len(got)-1]; last.Incident.Status != alerting.StatusRetracted ||
		last.Alerts[0].State != alerting.StateRetracted {
		t.Fatalf("webhook's last notification %+v", last.Incident)
	}
	es, err := j.Entries(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	r, err := alerting.Verify(ctx, j)
	if err != nil || !r.OK() || len(es) != 3 || es[0].Alert.State != alerting.StateConfirmed ||
		es[2].Alert.State != alerting.StateRetracted {
		t.Fatalf("alert log %+v (%+v, %v)", es, r, err)
	}
}
