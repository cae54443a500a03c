package alerting_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/journaltest"
	"github.com/flowwatch/flowwatch/internal/redistest"
)

// TestTxIndex: alerts appended to a journal in Redis are found by transaction, each in
// its latest state (a retraction replaces the confirmation, unless it is from a block a
// reorg orphaned after the alert was raised again in another), including those appended
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
	// A reorg moved 0x3 from block 7 to block 8, where it alerted again, before the
	// retraction from block 7 came: the alert stands, confirmed in block 8. (The index
	// said it was retracted, and a screening client would have released the deposit.)
	moved := func(block uint64, state alerting.State) alerting.Alert {
		a := alert("a3", "0x3", block, state)
		a.BlockHash = fmt.Sprint("block-", block)
		return a
	}
	if _, err := j.Append(ctx, moved(7, alerting.StateProvisional),
		moved(8, alerting.StateProvisional), moved(8, alerting.StateConfirmed),
		moved(7, alerting.StateRetracted)); err != nil {
		t.Fatal(err)
	}
	if got, _ := x.Alerts(ctx, "eth", "0x3"); len(got) != 1 ||
		got[0].State != alerting.StateConfirmed {
		t.Fatalf("alerts on 0x3 after a late retraction from an orphaned block: %+v", got)
	}
	// An early warning in a block of a fork that the node then left, after the
	// confirmation in block 8: retracted, it leaves the confirmation standing.
	if _, err := j.Append(ctx, moved(9, alerting.StateProvisional),
		moved(9, alerting.StateRetracted)); err != nil {
		t.Fatal(err)
	}
	if got, _ := x.Alerts(ctx, "eth", "0x3"); len(got) != 1 ||
		got[0].State != alerting.StateConfirmed {
		t.Fatalf("alerts on 0x3 after an early warning on a fork, retracted: %+v", got)
	}
	if _, err := j.Append(ctx, moved(8, alerting.StateRetracted)); err != nil {
		t.Fatal(err)
	}
	if got, _ := x.Alerts(ctx, "eth", "0x3"); len(got) != 1 ||
		got[0].State != alerting.StateRetracted {
		t.Fatalf("alerts on 0x3 after a retraction from its block: %+v", got)
	}
	if got, _ := x.Alerts(ctx, "eth", "0x2"); len(got) != 1 {
		t.Fatalf("one alert ID on 0x2, in many blocks: %+v", got)
	}
	if got, _ := x.Alerts(ctx, "btc", "0x1"); len(got) != 0 {
		t.Fatalf("another chain's transaction: %+v", got)
	}
}
