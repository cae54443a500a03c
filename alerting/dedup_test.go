package alerting_test

import (
	"context"
	"errors"
	"testing"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/sinktest"
	"github.com/flowwatch/flowwatch/internal/redistest"
)

type recorder struct {
	got  []string
	fail error
}

func (r *recorder) Exec(_ context.Context, alerts ...alerting.Alert) ([]alerting.Alert, error) {
	if r.fail != nil {
		return nil, r.fail
	}
	for _, a := range alerts {
		r.got = append(r.got, a.DedupKey())
	}
	return alerts, nil
}

func seenStores(t *testing.T) map[string]alerting.Seen {
	rdb, prefix := redistest.New(t)
	return map[string]alerting.Seen{
		"memory": &alerting.MemorySeen{},
		"redis":  &alerting.RedisSeen{RDB: rdb, Prefix: prefix},
	}
}

// TestDedup: a redelivered alert is not notified again; a retraction is a notification of
// its own; alerts whose delivery failed are not marked, so the next try sends them.
func TestDedup(t *testing.T) {
	for name, seen := range seenStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			rec := &recorder{}
			d := &alerting.Dedup{Seen: seen, Next: rec}
			as := sinktest.Alerts(2)
			if _, err := d.Exec(ctx, as[0], as[0]); err != nil { // a duplicate in one batch
				t.Fatal(err)
			}
			if _, err := d.Exec(ctx, as...); err != nil { // a redelivery
				t.Fatal(err)
			}
			retracted := as[0]
			retracted.State = alerting.StateRetracted
			rec.fail = errors.New("sink down")
			if _, err := d.Exec(ctx, retracted); err == nil {
				t.Fatal("want the sink's error")
			}
			rec.fail = nil
			if _, err := d.Exec(ctx, retracted); err != nil {
				t.Fatal(err)
			}
			want := []string{as[0].DedupKey(), as[1].DedupKey(), retracted.DedupKey()}
			if len(rec.got) != 3 || rec.got[0] != want[0] || rec.got[1] != want[1] ||
				rec.got[2] != want[2] {
				t.Fatalf("notified %v, want %v", rec.got, want)
			}
		})
	}
}

func TestSequenceAndFanout(t *testing.T) {
	a, b := &recorder{}, &recorder{}
	s := alerting.Sequence{alerting.Fanout{a, b}, alerting.StageFunc(
		func(_ context.Context, as ...alerting.Alert) ([]alerting.Alert, error) {
			return as[:1], nil
		})}
	out, err := s.Exec(context.Background(), sinktest.Alerts(3)...)
	if err != nil || len(out) != 1 || len(a.got) != 3 || len(b.got) != 3 {
		t.Fatalf("out %d, a %d, b %d, err %v", len(out), len(a.got), len(b.got), err)
	}
	b.fail = errors.New("down")
	if _, err := s.Exec(context.Background(), sinktest.Alerts(1)...); err == nil {
		t.Fatal("fan-out hid a failed branch")
	}
}

func TestRoute(t *testing.T) {
	a, b := &recorder{}, &recorder{}
	r := &alerting.Route{ByRule: map[string]alerting.Stage{"r": alerting.Fanout{a}},
		Default: alerting.Sequence{b}} // composites are slices: not usable as map keys
	as := sinktest.Alerts(3)
	as[1].Rule = "other"
	out, err := r.Exec(context.Background(), as...)
	if err != nil || len(out) != 3 || len(a.got) != 2 || len(b.got) != 1 {
		t.Fatalf("out %d, routed %d and %d, err %v", len(out), len(a.got), len(b.got), err)
	}
	none := &alerting.Route{ByRule: map[string]alerting.Stage{"r": a}}
	if out, _ := none.Exec(context.Background(), as[1]); len(out) != 0 {
		t.Fatal("an alert without a route was passed on")
	}
}
