package alerting_test

import (
	"context"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/journaltest"
	"github.com/flowwatch/flowwatch/internal/redistest"
)

// TestTxIndex: alerts appended to a journal in Redis are found by transaction, each in
// its latest state (a retraction replaces the confirmation), including those appended
// after the index first read the journal, and across more entries than one read takes.
func TestTxIndex(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	j := alerting.NewRedisJournal(rdb, prefix, journaltest.Stamp())
	alert := func(id, tx string, block uint64, state alerting.State) alerting.Alert {
		return alerting.Alert{ID: id, Rule: "r", Severity: "high", State: state,
			Chain: "eth", Block: block, BlockHash: tx + "-block", Tx: tx, Position: "tx",
			Time: time.Unix(1.7e9, 0).UTC(), Destination: alerting.Party{Address: "0xd"}}
	}
	if _, err := j.Append(ctx, alert("a1", "0x1", 5, alerting.StateConfirmed),
		alert("a2", "0x1", 5, alerting.StateConfirmed)); err != nil {
		t.Fatal(err)
	}
	x := alerting.NewTxIndex(j)
	got, err := x.Alerts(ctx, "eth", "0x1")
	if err != nil || len(got) != 2 || got[0].ID != "a1" || got[1].ID != "a2" {
		t.Fatalf("alerts on 0x1: %+v, %v", got, err)
	}
	var more []alerting.Alert
	for i := range 2*alerting.DefaultTxIndexBatch + 5 {
		more = append(more, alert("b", "0x2", uint64(10+i), alerting.StateConfirmed))
	}
	more = append(more, alert("a1", "0x1", 5, alerting.StateRetracted))
	if _, err := j.Append(ctx, more...); err != nil {
		t.Fatal(err)
	}
	got, err = x.Alerts(ctx, "eth", "0x1")
	if err != nil || len(got) != 2 || got[0].State != alerting.StateRetracted ||
		got[1].State != alerting.StateConfirmed {
		t.Fatalf("alerts on 0x1 after a retraction: %+v, %v", got, err)
	}
	if got, _ := x.Alerts(ctx, "eth", "0x2"); len(got) != 1 {
		t.Fatalf("one alert ID on 0x2, in many blocks: %+v", got)
	}
	if got, _ := x.Alerts(ctx, "btc", "0x1"); len(got) != 0 {
		t.Fatalf("another chain's transaction: %+v", got)
	}
}
