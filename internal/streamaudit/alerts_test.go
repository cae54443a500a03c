package streamaudit

import (
	"strings"
	"testing"

	"github.com/flowwatch/flowwatch/alerting"
)

func TestAlertsCheck(t *testing.T) {
	n := func(state alerting.State, block string) alerting.Alert {
		return alerting.Alert{ID: "a1", Rule: "to-exchange", Tx: "0x01", State: state,
			BlockHash: block}
	}
	const (
		prov = alerting.StateProvisional
		conf = alerting.StateConfirmed
		retr = alerting.StateRetracted
	)
	tests := []struct {
		name     string
		give     []alerting.Alert
		final    string
		wantSeen bool
		wantErr  string
	}{
		{name: "confirmed where mined", give: []alerting.Alert{n(conf, "b1")}, final: "b1",
			wantSeen: true},
		{name: "early warning then confirmed",
			give: []alerting.Alert{n(prov, "b1"), n(conf, "b1")}, final: "b1", wantSeen: true},
		{name: "orphaned, retracted, mined again",
			give: []alerting.Alert{n(conf, "b1"), n(retr, "b1"), n(prov, "b2"),
				n(retr, "b2"), n(conf, "b3")}, final: "b3", wantSeen: true},
		{name: "dropped after it was confirmed",
			give: []alerting.Alert{n(conf, "b1"), n(retr, "b1")}, wantSeen: true},
		{name: "dropped before it was judged"},
		{name: "orphaned, not retracted", give: []alerting.Alert{n(conf, "b1"), n(conf, "b2")},
			final: "b2", wantSeen: true, wantErr: "raised in orphaned block"},
		{name: "early warning orphaned, not retracted",
			give: []alerting.Alert{n(prov, "b1"), n(conf, "b2")}, final: "b2",
			wantSeen: true, wantErr: "raised in orphaned block"},
		{name: "retracted where mined",
			give: []alerting.Alert{n(conf, "b1"), n(retr, "b1")}, final: "b1",
			wantSeen: true, wantErr: "which mined it"},
		{name: "retracted, never raised",
			give: []alerting.Alert{n(retr, "b0"), n(conf, "b1")}, final: "b1",
			wantSeen: true, wantErr: "never raised"},
		{name: "only an early warning where mined", give: []alerting.Alert{n(prov, "b1")},
			final: "b1", wantSeen: true, wantErr: "not confirmed"},
		{name: "mined, never notified", final: "b1", wantErr: "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAlerts()
			for _, g := range tt.give {
				a.Add(g)
			}
			got, seen, err := a.Check("a1", tt.final)
			if seen != tt.wantSeen {
				t.Errorf("seen %v, want %v", seen, tt.wantSeen)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.final != "" && (got.State != conf || got.BlockHash != tt.final) {
				t.Errorf("got %+v, want the confirmation in %s", got, tt.final)
			}
		})
	}
}

func TestAlertsUnexpected(t *testing.T) {
	a := NewAlerts()
	a.Add(alerting.Alert{ID: "a1", State: alerting.StateConfirmed, BlockHash: "b1"})
	if err := a.Unexpected(map[string]bool{"a1": true}); err != nil {
		t.Fatal(err)
	}
	a.Add(alerting.Alert{ID: "a2", Rule: "pooled", State: alerting.StateConfirmed})
	if err := a.Unexpected(map[string]bool{"a1": true}); err == nil ||
		!strings.Contains(err.Error(), "a2 (pooled") {
		t.Fatalf("error %v, want one naming a2", err)
	}
	b := NewAlerts()
	b.Add(alerting.Alert{ID: "a1", State: "resolved"})
	if err := b.Unexpected(map[string]bool{"a1": true}); err == nil {
		t.Fatal("a notification in no state of an alert's: no error")
	}
	a.Add(alerting.Alert{ID: "a1", State: alerting.StateProvisional, BlockHash: "b1"})
	a.Add(alerting.Alert{ID: "a1", State: alerting.StateConfirmed, BlockHash: "b1"})
	if c := a.Counts(); c != (AlertCounts{Alerts: 2, Provisional: 1, Confirmed: 2}) {
		t.Errorf("counts %+v", c)
	}
}
