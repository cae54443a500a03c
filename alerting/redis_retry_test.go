package alerting

import (
	"context"
	"strings"
	"testing"

	"github.com/flowwatch/flowwatch/internal/redistest"
)

// TestRedisDispatchSaveAfterLostReply: a dispatcher step's save reaches Redis and its reply
// is lost. go-redis sends it again (its default retries): the notifications it queued must
// be queued once, or each sink would be sent them twice. (Through a proxy to one server,
// the standalone one also when the suite runs against a cluster.)
func TestRedisDispatchSaveAfterLostReply(t *testing.T) {
	ctx := context.Background()
	rdb, proxy, prefix := redistest.CutClient(t)
	s := NewRedisDispatch(rdb, prefix)
	lead(t, s, "a")
	g := newTestGrouper(t, GroupOptions{ZeroWait: true})
	g.Add(t0, flowAlert(1, "Binance", 10))
	g.Add(t0, flowAlert(2, "Kraken", 20))
	ns := g.Due(t0)
	q := func(i int) Queued { return Queued{ID: ns[i][0].NotificationKey(), Alerts: ns[i]} }
	// The first save also loads the script, so that the cut one is run, not refused.
	if err := s.Save(ctx, Changes{Holder: "a", Cursor: 1,
		Queued: map[string][]Queued{"hook": {q(0)}}}); err != nil {
		t.Fatal(err)
	}
	proxy.Arm(s.key("dispatch:cursor"))
	err := s.Save(ctx, Changes{Holder: "a", Cursor: 2, Incidents: g.TakeChanged(),
		Queued: map[string][]Queued{"hook": {q(1)}}})
	if proxy.Cuts() != 1 {
		t.Fatalf("%d replies cut, want 1", proxy.Cuts())
	}
	if err != nil {
		t.Fatalf("save whose reply was lost: %v (go-redis retries it)", err)
	}
	var sent []string
	for range 5 {
		h, ok, err := s.Head(ctx, "hook")
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		sent = append(sent, h.ID)
		if err := s.Done(ctx, "hook", h.ID, ""); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := strings.Join(sent, " "), q(0).ID+" "+q(1).ID; got != want {
		t.Errorf("sent %q, want %q", got, want)
	}
	c, ins, err := s.Load(ctx)
	if err != nil || c != 2 || len(ins) != 2 {
		t.Errorf("loaded cursor %d, %d incidents, %v; want 2, 2", c, len(ins), err)
	}
}

// TestRedisJournalAppendAfterLostReply: an append to the alert log reaches Redis and its
// reply is lost; go-redis sends it again. The second run finds the head moved, and the
// append's next try finds the alert logged by itself: it is in the log once, the chain of
// hashes holds, and the append returns its entry as appended (what the dispatcher is woken
// by and the metrics count).
func TestRedisJournalAppendAfterLostReply(t *testing.T) {
	ctx := context.Background()
	rdb, proxy, prefix := redistest.CutClient(t)
	j := NewRedisJournal(rdb, prefix, nil)
	// The first append also loads the script, so that the cut one is run, not refused.
	if _, err := j.Append(ctx, flowAlert(1, "Binance", 10)); err != nil {
		t.Fatal(err)
	}
	proxy.Arm("Kraken")
	appended, err := j.Append(ctx, flowAlert(2, "Kraken", 20))
	if proxy.Cuts() != 1 {
		t.Fatalf("%d replies cut, want 1", proxy.Cuts())
	}
	if err != nil {
		t.Fatalf("append whose reply was lost: %v (go-redis retries it)", err)
	}
	if len(appended) != 1 || appended[0].Seq != 2 || appended[0].Alert.Destination.Entity !=
		"Kraken" {
		t.Errorf("append returned %+v, want the Kraken alert as entry 2", appended)
	}
	// An append of the same alert by another call is still a duplicate: nothing returned.
	if again, err := j.Append(ctx, flowAlert(2, "Kraken", 20)); err != nil || len(again) != 0 {
		t.Errorf("appended again: %d entries, %v; want none", len(again), err)
	}
	es, err := j.Entries(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Alert.Destination.Entity)
	}
	if strings.Join(got, " ") != "Binance Kraken" {
		t.Errorf("log holds %q, want each alert once", got)
	}
	if r, err := Verify(ctx, j); err != nil || len(r.Problems) != 0 || r.Head != 2 {
		t.Errorf("verify: %+v, %v", r, err)
	}
}
