package watcher

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/file"
)

type fixedStatus struct{ s *PollerStatus }

func (f fixedStatus) Status() PollerStatus { return *f.s }

// TestHeartbeat: a beat tells each chain's place and the alert log's head; a chain whose
// poller has not reached its node's head for max_lag raises one lag alert, logged, and its
// retraction once it has; a quiet chain, reached at every poll, raises none.
func TestHeartbeat(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	quiet := &PollerStatus{Chain: "ethereum", Head: 112, Published: 100, AtHead: t0}
	stalled := &PollerStatus{Chain: "bitcoin", Head: 900, Published: 880,
		Err: "rpc: connection refused"}
	var out bytes.Buffer
	j := &alerting.MemoryJournal{}
	h, err := NewHeartbeat([]StatusReporter{fixedStatus{quiet}, fixedStatus{stalled}},
		file.NewWriter(&out), alerting.JournalStage{Journal: j}, j,
		HeartbeatOptions{Every: time.Hour, MaxLag: 10 * time.Minute,
			Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	logged := func() []alerting.Entry {
		es, err := j.Entries(ctx, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	step := func(d time.Duration) {
		t.Helper()
		now = now.Add(d)
		quiet.AtHead = now // polled, nothing new: at the head
		if err := h.Check(ctx); err != nil {
			t.Fatal(err)
		}
	}
	step(9 * time.Minute)
	if n := len(logged()); n != 0 {
		t.Fatalf("%d lag alerts within max_lag", n)
	}
	step(2 * time.Minute)
	step(time.Minute)
	es := logged()
	if len(es) != 1 || es[0].Alert.Rule != RuleLag || es[0].Alert.Chain != "bitcoin" ||
		!strings.Contains(es[0].Alert.Note, "not at the node's head for 11m0s") ||
		!strings.Contains(es[0].Alert.Note, "connection refused") {
		t.Fatalf("lag alerts %+v", es)
	}
	stalled.AtHead, stalled.Err = now, ""
	step(time.Minute)
	step(time.Minute)
	if es = logged(); len(es) != 2 || es[1].Alert.State != alerting.StateRetracted ||
		es[1].Alert.ID != es[0].Alert.ID {
		t.Fatalf("after catching up %+v", es)
	}

	if err := h.Beat(ctx); err != nil {
		t.Fatal(err)
	}
	var notes []string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var a alerting.Alert
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		if a.Incident == nil || a.Incident.ID != "heartbeat" || a.Rule != RuleHeartbeat {
			t.Fatalf("beat alert %+v", a)
		}
		notes = append(notes, a.Note)
	}
	_, head, _ := j.Head(ctx)
	want := []string{"ethereum: published block 100, node head 112, at the head 0s ago",
		"bitcoin: published block 880, node head 900, at the head 2m0s ago",
		"alert log: 2 entries, head hash " + head}
	if strings.Join(notes, "\n") != strings.Join(want, "\n") {
		t.Fatalf("beat:\n%s\nwant:\n%s", strings.Join(notes, "\n"), strings.Join(want, "\n"))
	}
}

// TestHeartbeatSettlesAfterRestart: a lag alert raised before a restart is still retracted
// once the chain is at its head again: the heartbeat started again reads it back from the
// alert log, keeps it in force while the chain lags on (no second alert for one outage),
// and retracts it once. Where a heartbeat that could not read the log back raised a second
// one meanwhile, the first is retracted at once as superseded, the second on catching up.
func TestHeartbeatSettlesAfterRestart(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		gap  bool // a heartbeat without the log ran between the two
		want string
	}{
		{name: "read back", want: "L1 confirmed; L1 retracted at the node's head again"},
		{name: "two left", gap: true, want: "L1 confirmed; L2 confirmed; " +
			"L1 retracted superseded by a later lag alert; " +
			"L2 retracted at the node's head again"},
	} {
		now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
		stalled := &PollerStatus{Chain: "bitcoin", Head: 900, Published: 880}
		j := &alerting.MemoryJournal{}
		start := func(log alerting.Journal) *Heartbeat {
			h, err := NewHeartbeat([]StatusReporter{fixedStatus{stalled}},
				file.NewWriter(&bytes.Buffer{}), alerting.JournalStage{Journal: j}, log,
				HeartbeatOptions{Every: time.Hour, MaxLag: 10 * time.Minute,
					Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			return h
		}
		lag := func(h *Heartbeat) { // twice max_lag behind
			t.Helper()
			for range 4 {
				now = now.Add(6 * time.Minute)
				if err := h.Check(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		lag(start(j))
		if tc.gap {
			lag(start(nil))
		}
		h := start(j)
		lag(h)
		stalled.AtHead = now
		if err := h.Check(ctx); err != nil {
			t.Fatal(err)
		}
		es, err := j.Entries(ctx, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]string{}
		var got []string
		for _, e := range es {
			a := e.Alert
			if ids[a.ID] == "" {
				ids[a.ID] = fmt.Sprintf("L%d", len(ids)+1)
			}
			s := ids[a.ID] + " " + string(a.State)
			if a.State == alerting.StateRetracted {
				_, why, _ := strings.Cut(a.Note, ": ")
				s += " " + strings.TrimSuffix(why, ": resolved")
				s = strings.Replace(s, " (block 880)", "", 1)
			}
			got = append(got, s)
		}
		if g := strings.Join(got, "; "); g != tc.want {
			t.Errorf("%s: the alert log holds %q, want %q", tc.name, g, tc.want)
		}
	}
}
