package watcher

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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
