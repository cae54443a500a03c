package watcher

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/alerting"
)

// TestUnsettled: what is read back from the alert log is, of the alerts that match, those
// whose latest entry is in the state asked for, as far back as the look-back from the
// newest entry, over several pages of the log.
func TestUnsettled(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	j := &alerting.MemoryJournal{Now: func() time.Time { return now }}
	add := func(id, chain, hash string, state alerting.State) {
		t.Helper()
		if _, err := j.Append(ctx, alerting.Alert{ID: id, Chain: chain, BlockHash: hash,
			State: state}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
	}
	add("old", "eth", "h0", alerting.StateProvisional) // beyond the look-back
	now = now.Add(2 * time.Hour)
	add("a", "eth", "h1", alerting.StateProvisional)
	add("b", "eth", "h2", alerting.StateProvisional)
	add("b", "eth", "h2", alerting.StateConfirmed) // settled
	add("c", "eth", "h3", alerting.StateProvisional)
	add("c", "eth", "h3", alerting.StateRetracted)   // settled
	add("d", "btc", "h4", alerting.StateProvisional) // another chain
	for i := range 2500 {                            // pages of confirmed alerts between
		add(fmt.Sprintf("x%d", i), "eth", "h", alerting.StateConfirmed)
	}
	add("a", "eth", "h5", alerting.StateProvisional) // the same alert in another block
	add("e", "eth", "h6", alerting.StateProvisional)
	add("e", "eth", "h6", alerting.StateProvisional) // logged once (dedup)
	tests := []struct {
		name  string
		back  time.Duration
		state alerting.State
		want  string
	}{
		{"provisional, the last hour", time.Hour, alerting.StateProvisional, "a@h1 a@h5 e@h6"},
		{"provisional, a day", 24 * time.Hour, alerting.StateProvisional,
			"old@h0 a@h1 a@h5 e@h6"},
		{"retracted", time.Hour, alerting.StateRetracted, "c@h3"},
	}
	read := func(back time.Duration, most uint64, state alerting.State,
		match func(*alerting.Alert) bool) string { // the alerts read, as id@block hash
		t.Helper()
		got, err := unsettled(ctx, j, back, most, state, match)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, a := range got {
			s = append(s, a.ID+"@"+a.BlockHash)
		}
		return strings.Join(s, " ")
	}
	for _, tt := range tests {
		g := read(tt.back, logReadBack, tt.state, func(a *alerting.Alert) bool {
			return a.Chain == "eth" && !strings.HasPrefix(a.ID, "x")
		})
		if g != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, g, tt.want)
		}
	}
	// However many the look-back holds, at most the last entries asked for are read: the
	// last one is e's, the one before a's in block h5; a's in block h1 is 2,508th from the
	// end (e's duplicate was not logged).
	for _, tc := range []struct {
		most uint64
		want string
	}{{1, "e@h6"}, {2, "a@h5 e@h6"}, {2507, "a@h5 e@h6"}, {2508, "a@h1 a@h5 e@h6"}} {
		g := read(24*time.Hour, tc.most, alerting.StateProvisional,
			func(a *alerting.Alert) bool { return a.ID == "e" || a.ID == "a" })
		if g != tc.want {
			t.Errorf("the last %d entries: %q, want %q", tc.most, g, tc.want)
		}
	}
	empty, err := unsettled(ctx, &alerting.MemoryJournal{}, time.Hour, logReadBack,
		alerting.StateProvisional, func(*alerting.Alert) bool { return true })
	if err != nil || len(empty) != 0 {
		t.Fatalf("an empty log: %v, %v", empty, err)
	}
}
