package watcher

// What a loop that raises alerts and later settles them (a scout's provisional alerts, a
// heartbeat's lag alerts) reads back from the alert log when it starts, so that a restart
// does not leave one of them unsettled for good.

import (
	"context"
	"fmt"
	"time"

	"github.com/flowwatch/flowwatch/alerting"
)

// AlertLog is the alert log read back: its head and its entries (alerting.Journal).
type AlertLog interface {
	Head(ctx context.Context) (uint64, string, error)
	Entries(ctx context.Context, after uint64, n int) ([]alerting.Entry, error)
}

var _ AlertLog = alerting.Journal(nil)

// DefaultLogLookBack is how far back, from the newest entry, a loop that starts reads the
// alert log for the alerts it left unsettled: far longer than a restart, a block's
// confirmations or a lag takes.
const DefaultLogLookBack = 24 * time.Hour

// logPage is how many entries one read of the log takes; logReadBack bounds how many are
// read back in all, however many the look-back holds (a burst of alerts).
const (
	logPage     = 1000
	logReadBack = 100 * logPage
)

// unsettled reads back log's entries appended within back of its newest one (at most the
// last most: logReadBack for the loops) and returns the alerts, of those that match, whose
// latest entry (an alert is known by its ID and block hash) is in state: those that the
// loop that raised them has not settled (a provisional alert neither confirmed nor
// retracted; a lag alert not retracted). Entries that do not decode are passed over: the
// log's own check reports them.
func unsettled(ctx context.Context, log AlertLog, back time.Duration, most uint64,
	state alerting.State, match func(*alerting.Alert) bool) ([]alerting.Alert, error) {
	head, _, err := log.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("alert log: %w", err)
	}
	var pages [][]alerting.Entry // newest first
	var newest time.Time
	for top := head; top > 0 && head-top < most; {
		after := top - min(top, logPage, most-(head-top))
		es, err := log.Entries(ctx, after, int(top-after))
		if err != nil {
			return nil, fmt.Errorf("alert log after %d: %w", after, err)
		}
		pages, top = append(pages, es), after
		if len(es) == 0 {
			continue
		}
		if newest.IsZero() {
			newest = es[len(es)-1].Time
		}
		if es[0].Time.Before(newest.Add(-back)) {
			break
		}
	}
	latest := map[string]alerting.Alert{}
	var order []string
	since := newest.Add(-back)
	for i := len(pages) - 1; i >= 0; i-- {
		for _, e := range pages[i] {
			a := e.Alert
			if e.Err != nil || e.Time.Before(since) || !match(&a) {
				continue
			}
			k := a.ID + ":" + a.BlockHash
			if _, ok := latest[k]; !ok {
				order = append(order, k)
			}
			latest[k] = a
		}
	}
	var out []alerting.Alert
	for _, k := range order {
		if a := latest[k]; a.State == state {
			out = append(out, a)
		}
	}
	return out, nil
}
