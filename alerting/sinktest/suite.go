package sinktest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/alerting"
)

// Harness gives the suite a fresh sink and a view of its endpoint.
type Harness struct {
	Sink alerting.Notifier
	// Delivered returns the alerts the endpoint received, as it read them, in order, for a
	// sink whose endpoint gets them as data (JSON); nil for one that gets text.
	Delivered func() []alerting.Alert
	// Texts returns what people read of each notification the endpoint received (a chat
	// message, an email), for a sink that sends text; nil otherwise.
	Texts func() []string
	// Keys returns the notification keys the endpoint received (Idempotency-Key, dedup
	// key, ...), one per notification; nil when the sink's endpoint has none.
	Keys func() []string
	// Refuse makes the endpoint refuse the next delivery: for a while (a 503, or a 429 with
	// Retry-After when retryAfter > 0; an SMTP 451) or for good (a 400; an SMTP 550). Nil
	// when the endpoint cannot refuse (a file).
	Refuse func(transient bool, retryAfter time.Duration)
	// RetryAfter says the sink reports a Retry-After (alerting.RetryAfter).
	RetryAfter bool
	// Down stops the endpoint (nil: it cannot be stopped).
	Down func()
	// Secrets must never appear in the sink's errors (tokens, passwords, signing keys,
	// URLs that hold a token).
	Secrets []string
}

// Alerts returns n distinct alerts for the suite, of one notification: they share an
// incident.
func Alerts(n int) []alerting.Alert {
	in := &alerting.Incident{ID: "00aa11bb22cc33dd44ee", Seq: 1, Reason: alerting.ReasonOpened,
		Status: alerting.StatusOpen, Rule: "r", Chain: "ethereum", Severity: "high",
		Source:      alerting.Party{Address: "0x1", Entity: "Lazarus Group"},
		Destination: alerting.Party{Address: "0x2", Category: "exchange", Entity: "Binance"},
		Opened:      time.Unix(1700000000, 0).UTC(), Updated: time.Unix(1700000000, 0).UTC(),
		Alerts: n, Totals: map[string]string{"native": fmt.Sprint(n) + "000000000000000000"},
		MaxHops: 1}
	out := make([]alerting.Alert, n)
	for i := range out {
		tx := fmt.Sprintf("0x%064x", i+1)
		out[i] = alerting.Alert{ID: alerting.AlertID("r", "ethereum", tx, "tx"), Rule: "r",
			Severity: "high", State: alerting.StateConfirmed, Chain: "ethereum", Block: 7,
			BlockHash: "0xb7", Time: time.Unix(1700000000, 0).UTC(), Tx: tx, Position: "tx",
			Source:      alerting.Party{Address: "0x1", Entity: "Lazarus Group"},
			Destination: alerting.Party{Address: "0x2", Category: "exchange", Entity: "Binance"},
			Asset:       "native", Amount: "1000000000000000000",
			Explorer: "https://etherscan.io/tx/" + tx, Incident: in,
			Path: []alerting.Hop{{Block: 7, Tx: tx, Position: "tx", From: "0x1", To: "0x2",
				Asset: "native", Amount: "1000000000000000000"}}}
	}
	return out
}

// Run runs the suite; newHarness returns a fresh sink and endpoint for each subtest. The
// cases of refusals, Retry-After and a stopped endpoint run for the sinks whose endpoint
// can show them (Harness.Refuse, RetryAfter, Down); for the others they do not apply.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	ctx := context.Background()
	can := newHarness(t)
	t.Run("delivers a notification intact", func(t *testing.T) {
		h := newHarness(t)
		want := Alerts(3)
		if retry, err := h.Sink.Notify(ctx, want...); err != nil {
			t.Fatalf("notify: %v (retry %v)", err, retry)
		}
		if h.Delivered != nil {
			same(t, h.Delivered(), want)
		}
		if h.Texts != nil {
			readable(t, h.Texts(), want)
		}
		if h.Keys != nil {
			if keys := h.Keys(); len(keys) != 1 || keys[0] != want[0].NotificationKey() {
				t.Fatalf("notification keys %q, want one: %q", keys, want[0].NotificationKey())
			}
		}
	})
	t.Run("a retracted alert is delivered as such", func(t *testing.T) {
		h := newHarness(t)
		a := Alerts(1)
		a[0].State = alerting.StateRetracted
		if _, err := h.Sink.Notify(ctx, a...); err != nil {
			t.Fatal(err)
		}
		if h.Delivered != nil {
			if got := h.Delivered(); len(got) != 1 || got[0].State != alerting.StateRetracted {
				t.Fatalf("delivered %+v", got)
			}
		}
		if h.Texts != nil {
			if got := h.Texts(); len(got) != 1 ||
				!strings.Contains(strings.ToLower(got[0]), "retracted") {
				t.Fatalf("texts %q: want one saying retracted", got)
			}
		}
	})
	t.Run("a cancelled context delivers nothing", func(t *testing.T) {
		h := newHarness(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := h.Sink.Notify(cctx, Alerts(2)...); err == nil {
			t.Fatal("want an error on a cancelled context")
		}
		if n := received(h); n != 0 {
			t.Fatalf("received %d on a cancelled context", n)
		}
	})
	if can.Refuse != nil {
		refusals(t, newHarness, can.RetryAfter)
	}
	if can.Down == nil {
		return
	}
	t.Run("an endpoint that is down is worth retrying, secrets kept out", func(t *testing.T) {
		h := newHarness(t)
		h.Down()
		retry, err := h.Sink.Notify(ctx, Alerts(1)...)
		if err == nil || !retry {
			t.Fatalf("retry %v, err %v: want an error worth retrying", retry, err)
		}
		noSecrets(t, h, err)
	})
}

// refusals are the cases of an endpoint that refuses (and, with retryAfter, says when to
// try again).
func refusals(t *testing.T, newHarness func(t *testing.T) Harness, retryAfter bool) {
	tests := []struct {
		name       string
		transient  bool
		retryAfter time.Duration
	}{
		{"a refusal for good is not retried", false, 0},
		{"a refusal for a while is retried", true, 0},
		{"a Retry-After is honoured", true, 7 * time.Second},
	}
	for _, tt := range tests {
		if tt.retryAfter > 0 && !retryAfter {
			continue // the sink's endpoint has no Retry-After
		}
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.Refuse(tt.transient, tt.retryAfter)
			retry, err := h.Sink.Notify(context.Background(), Alerts(1)...)
			if err == nil || retry != tt.transient {
				t.Fatalf("retry %v, err %v: want an error and retry %v", retry, err,
					tt.transient)
			}
			var ra *alerting.RetryAfter
			if got := errors.As(err, &ra); tt.retryAfter > 0 && (!got || ra.Wait !=
				tt.retryAfter) {
				t.Fatalf("err %v: want a RetryAfter of %s", err, tt.retryAfter)
			}
			noSecrets(t, h, err)
			if n := received(h); n != 0 {
				t.Fatalf("a refused notification counted as received: %d", n)
			}
			// The next try goes through.
			if _, err := h.Sink.Notify(context.Background(), Alerts(1)...); err != nil {
				t.Fatalf("after the refusal: %v", err)
			}
			if n := received(h); n != 1 {
				t.Fatalf("after the refusal received %d", n)
			}
		})
	}
}

// received is how many notifications (or, for a data sink, alerts) the endpoint took.
func received(h Harness) int {
	if h.Texts != nil {
		return len(h.Texts())
	}
	return len(h.Delivered())
}

// readable checks that one text was received and that it names what a person acts on:
// every transaction, the source and the destination.
func readable(t *testing.T, texts []string, want []alerting.Alert) {
	t.Helper()
	if len(texts) != 1 {
		t.Fatalf("received %d texts, want 1 for one notification", len(texts))
	}
	for _, w := range []string{want[0].Source.Entity, want[0].Destination.Entity} {
		if !strings.Contains(texts[0], w) {
			t.Fatalf("text does not name %q:\n%s", w, texts[0])
		}
	}
	for _, a := range want {
		if !strings.Contains(texts[0], a.Tx) {
			t.Fatalf("text does not name transaction %s:\n%s", a.Tx, texts[0])
		}
	}
}

func noSecrets(t *testing.T, h Harness, err error) {
	t.Helper()
	for _, s := range h.Secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("error %q shows a secret", err)
		}
	}
}

// same checks that got are want as an endpoint read them: each alert's identity, state,
// amounts, path and incident.
func same(t *testing.T, got, want []alerting.Alert) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("delivered %d alerts, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.State != w.State || g.Amount != w.Amount || g.Tx != w.Tx ||
			len(g.Path) != len(w.Path) || !g.Time.Equal(w.Time) ||
			g.Incident == nil || g.Incident.ID != w.Incident.ID ||
			g.Incident.Seq != w.Incident.Seq ||
			g.Incident.Totals["native"] != w.Incident.Totals["native"] {
			t.Fatalf("alert %d delivered as %+v (incident %+v), want %+v", i, g, g.Incident, w)
		}
	}
}
