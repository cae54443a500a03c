package alerting

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// flowAlert is alert n of a flow from Lazarus to Binance (or to dest), of amount wei.
func flowAlert(n int, dest string, amount int64) Alert {
	tx := fmt.Sprintf("0x%04x", n)
	return Alert{ID: AlertID("to-exchange", "ethereum", tx, "tx"), Rule: "to-exchange",
		Severity: "high", State: StateConfirmed, Chain: "ethereum", Block: uint64(n),
		BlockHash: "0xb", Time: t0.Add(time.Duration(n) * time.Second), Tx: tx,
		Position: "tx", Source: Party{Address: "0xsrc", Entity: "Lazarus Group"},
		Destination: Party{Address: "0x" + dest, Entity: dest, Category: "exchange"},
		Asset:       "native", Amount: fmt.Sprint(amount), Path: make([]Hop, 1+n%3)}
}

// inBlock is a as raised in the block of hash h.
func inBlock(a Alert, h string) Alert {
	a.BlockHash = h
	return a
}

func provisional(a Alert) Alert {
	a.State = StateProvisional
	return a
}

func retracted(a Alert) Alert {
	a.State = StateRetracted
	return a
}

// summary is "reason seq alerts-in-notification active total severity" per notification.
func summary(ns [][]Alert) string {
	var out []string
	for _, n := range ns {
		in := n[0].Incident
		for _, a := range n {
			if a.Incident != in {
				return "notification with alerts of several incidents"
			}
		}
		out = append(out, fmt.Sprintf("%s#%d n=%d active=%d total=%s %s", in.Reason, in.Seq,
			len(n), in.Alerts, in.Totals["native"], in.Severity))
	}
	return strings.Join(out, "; ")
}

func newTestGrouper(t *testing.T, o GroupOptions) *Grouper {
	t.Helper()
	g, err := NewGrouper(o)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestGrouperBurst: 1,000 alerts of one flow in 10 seconds make one notification after
// the group wait; alerts that keep coming for ten minutes make an update per group
// interval, no more.
func TestGrouperBurst(t *testing.T) {
	g := newTestGrouper(t, GroupOptions{GroupWait: 30 * time.Second,
		GroupInterval: 5 * time.Minute, RepeatInterval: -1})
	var got [][]Alert
	for i := range 1000 {
		now := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		g.Add(now, flowAlert(i, "Binance", 1))
		got = append(got, g.Due(now)...)
	}
	if len(got) != 0 {
		t.Fatalf("notified during the group wait: %s", summary(got))
	}
	got = append(got, g.Due(t0.Add(30*time.Second))...)
	if want := "opened#1 n=1000 active=1000 total=1000 high"; summary(got) != want {
		t.Fatalf("after the wait: %s, want %s", summary(got), want)
	}
	// One more alert every 10 s for ten minutes, checking every second.
	for s := 31; s <= 630; s++ {
		now := t0.Add(time.Duration(s) * time.Second)
		if s%10 == 0 {
			g.Add(now, flowAlert(1000+s, "Binance", 1))
		}
		got = append(got, g.Due(now)...)
	}
	want := "opened#1 n=1000 active=1000 total=1000 high; updated#2 n=30 active=1030 " +
		"total=1030 high; updated#3 n=30 active=1060 total=1060 high"
	if summary(got) != want {
		t.Fatalf("got  %s\nwant %s", summary(got), want)
	}
	if ids := got[0][0].Incident.ID; ids != got[2][0].Incident.ID || ids == "" {
		t.Fatalf("one flow, several incident ids")
	}
}

func TestGrouper(t *testing.T) {
	o := GroupOptions{GroupWait: 30 * time.Second, GroupInterval: 5 * time.Minute,
		RepeatInterval: time.Hour, Window: 3 * time.Hour,
		Escalations: []Escalation{{Asset: "native", Over: big.NewInt(100), To: "critical"}}}
	type step struct {
		at    time.Duration
		alert *Alert // nil: only look for what is due
	}
	a1, a2, a3 := flowAlert(1, "Binance", 10), flowAlert(2, "Binance", 20), flowAlert(3,
		"Binance", 95)
	other := flowAlert(4, "Kraken", 5)
	r1 := retracted(a1)
	ptr := func(a Alert) *Alert { return &a }
	tests := []struct {
		name  string
		steps []step
		want  string
	}{
		{"two flows, two incidents", []step{{0, &a1}, {1 * time.Second, &other},
			{30 * time.Second, nil}, {31 * time.Second, nil}},
			"opened#1 n=1 active=1 total=10 high; opened#1 n=1 active=1 total=5 high"},
		{"a retraction after the first notification is told at once", []step{{0, &a1},
			{0, &a2}, {30 * time.Second, nil}, {time.Minute, &r1}},
			"opened#1 n=2 active=2 total=30 high; updated#2 n=1 active=1 total=20 high"},
		{"every alert retracted", []step{{0, &a1}, {30 * time.Second, nil},
			{time.Minute, &r1}},
			"opened#1 n=1 active=1 total=10 high; retracted#2 n=1 active=0 total= high"},
		{"retracted within the group wait: one notification tells both", []step{{0, &a1},
			{10 * time.Second, &r1}, {10 * time.Second, &a2}, {30 * time.Second, nil}},
			"opened#1 n=3 active=1 total=20 high"},
		{"a retraction whose incident is gone is told alone", []step{{0, &r1}},
			"retracted#1 n=1 active=0 total= high"},
		{"crossing the escalation is told at once", []step{{0, &a1},
			{30 * time.Second, nil}, {40 * time.Second, &a2}, {50 * time.Second, &a3}},
			"opened#1 n=1 active=1 total=10 high; escalated#2 n=2 active=3 total=125 critical"},
		{"an open incident is reminded after the repeat interval", []step{{0, &a1},
			{30 * time.Second, nil}, {30*time.Second + time.Hour, nil}},
			"opened#1 n=1 active=1 total=10 high; reminder#2 n=1 active=1 total=10 high"},
		{"updates wait for the group interval", []step{{0, &a1}, {30 * time.Second, nil},
			{40 * time.Second, &a2}, {5 * time.Minute, nil}, {5*time.Minute + 30*time.Second,
				nil}},
			"opened#1 n=1 active=1 total=10 high; updated#2 n=1 active=2 total=30 high"},
		{"after the window a flow opens a new incident", []step{{0, &a1},
			{30 * time.Second, nil}, {4 * time.Hour, nil}, {4 * time.Hour, ptr(a2)},
			{4*time.Hour + 30*time.Second, nil}},
			"opened#1 n=1 active=1 total=10 high; reminder#2 n=1 active=1 total=10 high; " +
				"opened#1 n=1 active=1 total=20 high"},
		{"retracted before anyone was told: nothing to tell", []step{{0, &a1},
			{10 * time.Second, &r1}, {30 * time.Second, nil}, {time.Hour, nil}}, ""},
		// A reorg moved a1's movement to another block, where it was raised and confirmed
		// again, before the retraction from its first block came (a process that raised
		// the early warning was killed; the next one retracted it on starting). The
		// alert stays in force. (It was taken back: the incident, retracted before it was
		// told, notified nothing, and a confirmed alert was never sent.)
		{"a late retraction from an orphaned block leaves the alert in force",
			[]step{{0, &a1}, {time.Second, ptr(inBlock(a1, "0xc"))},
				{2 * time.Second, &r1}, {30 * time.Second, nil}},
			"opened#1 n=3 active=1 total=10 high"},
		{"after the first notification, it is told at once and leaves it in force",
			[]step{{0, &a1}, {time.Second, ptr(inBlock(a1, "0xc"))},
				{30 * time.Second, nil}, {time.Minute, &r1}},
			"opened#1 n=2 active=1 total=10 high; updated#2 n=1 active=1 total=10 high"},
		// An early warning on a fork that the node then left, after the alert was
		// confirmed on the chain: retracted, it leaves the confirmation in force. (The
		// alert went with it: the incident notified nothing.)
		{"a retraction of an early warning on a fork leaves the confirmation in force",
			[]step{{0, &a1}, {time.Second, ptr(provisional(inBlock(a1, "0xc")))},
				{2 * time.Second, ptr(retracted(inBlock(a1, "0xc")))},
				{30 * time.Second, nil}},
			"opened#1 n=3 active=1 total=10 high"},
		{"retracted from every block it was raised in, it is taken back", []step{{0, &a1},
			{time.Second, ptr(inBlock(a1, "0xc"))},
			{2 * time.Second, ptr(retracted(inBlock(a1, "0xc")))},
			{3 * time.Second, &r1}, {30 * time.Second, nil}},
			""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newTestGrouper(t, o)
			var got [][]Alert
			for _, s := range tt.steps {
				now := t0.Add(s.at)
				g.Expire(now)
				if s.alert != nil {
					g.Add(now, *s.alert)
				}
				got = append(got, g.Due(now)...)
			}
			if summary(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", summary(got), tt.want)
			}
		})
	}
}

func TestGroupOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		give    GroupOptions
		wantErr string
	}{
		{"defaults", GroupOptions{}, ""},
		{"negative wait", GroupOptions{GroupWait: -1}, "group_wait"},
		{"escalation without severity", GroupOptions{Escalations: []Escalation{
			{Asset: "native", Over: big.NewInt(1), To: "urgent"}}}, "escalate[0]"},
		{"escalation without amount", GroupOptions{Escalations: []Escalation{
			{Asset: "native", To: "critical"}}}, "escalate[0]"},
	}
	for _, tt := range tests {
		_, err := NewGrouper(tt.give)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" &&
			(err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

// TestGrouperLegacyMember: a member saved before the grouper kept where it stands (its
// state only, as JSON from the store) is replaced by the next notification of its alert,
// a retraction from any block included, as it was then.
func TestGrouperLegacyMember(t *testing.T) {
	g := newTestGrouper(t, GroupOptions{GroupWait: time.Second, RepeatInterval: -1})
	a := flowAlert(1, "Binance", 10)
	g.Add(t0, a)
	saved := g.TakeChanged()[IncidentKey(&a)]
	raw, err := json.Marshal(saved)
	if err != nil {
		t.Fatal(err)
	}
	old := strings.Replace(string(raw), `"standing":{"0xb":"confirmed"},`, "", 1)
	if old == string(raw) {
		t.Fatalf("no standing to take out of %s", raw)
	}
	var in incidentState
	if err := json.Unmarshal([]byte(old), &in); err != nil {
		t.Fatal(err)
	}
	g = newTestGrouper(t, GroupOptions{GroupWait: time.Second, RepeatInterval: -1})
	if err := g.restore([]incidentState{in}); err != nil {
		t.Fatal(err)
	}
	g.Add(t0.Add(time.Second), retracted(inBlock(a, "0xother")))
	if got := g.TakeChanged()[IncidentKey(&a)]; got.Alerts != 0 || got.Retracted != 1 {
		t.Fatalf("legacy member after a retraction: %d in force, %d retracted", got.Alerts,
			got.Retracted)
	}
}
