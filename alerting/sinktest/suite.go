// Package sinktest is the conformance suite that every alert sink passes.
package sinktest

import (
	"context"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/alerting"
)

// Harness gives the suite a fresh sink and what it delivered so far.
type Harness struct {
	Sink      alerting.Notifier
	Delivered func() []alerting.Alert
}

// Alerts returns n distinct alerts for the suite.
func Alerts(n int) []alerting.Alert {
	out := make([]alerting.Alert, n)
	for i := range out {
		tx := "0x" + string(rune('a'+i))
		out[i] = alerting.Alert{ID: alerting.AlertID("r", "ethereum", tx, "tx"), Rule: "r",
			Severity: "high", State: alerting.StateConfirmed, Chain: "ethereum", Block: 7,
			Time: time.Unix(1700000000, 0).UTC(), Tx: tx, Position: "tx",
			Source:      alerting.Party{Address: "0x1", Entity: "Lazarus Group"},
			Destination: alerting.Party{Address: "0x2", Category: "exchange"},
			Asset:       "native", Amount: "1000000000000000000",
			Path: []alerting.Hop{{Block: 7, Tx: tx, Position: "tx", From: "0x1", To: "0x2",
				Asset: "native", Amount: "1000000000000000000"}}}
	}
	return out
}

// Run runs the suite; newHarness returns a fresh sink for each subtest.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Run("delivers each alert once, intact", func(t *testing.T) {
		h := newHarness(t)
		want := Alerts(3)
		if retry, err := h.Sink.Notify(context.Background(), want...); err != nil {
			t.Fatalf("notify: %v (retry %v)", err, retry)
		}
		got := h.Delivered()
		if len(got) != len(want) {
			t.Fatalf("delivered %d alerts, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i].ID != want[i].ID || got[i].State != want[i].State ||
				got[i].Amount != want[i].Amount || len(got[i].Path) != 1 ||
				!got[i].Time.Equal(want[i].Time) {
				t.Fatalf("alert %d delivered as %+v, want %+v", i, got[i], want[i])
			}
		}
	})
	t.Run("retracted state is delivered as such", func(t *testing.T) {
		h := newHarness(t)
		a := Alerts(1)[0]
		a.State = alerting.StateRetracted
		if _, err := h.Sink.Notify(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		if got := h.Delivered(); len(got) != 1 || got[0].State != alerting.StateRetracted {
			t.Fatalf("delivered %+v", got)
		}
	})
	t.Run("cancelled context delivers nothing", func(t *testing.T) {
		h := newHarness(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := h.Sink.Notify(ctx, Alerts(2)...); err == nil {
			t.Fatal("want an error on a cancelled context")
		}
		if got := h.Delivered(); len(got) != 0 {
			t.Fatalf("delivered %d alerts on a cancelled context", len(got))
		}
	})
}
