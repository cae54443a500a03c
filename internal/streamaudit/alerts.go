package streamaudit

import (
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/flowwatch/flowwatch/alerting"
)

// Alerts gathers the notifications a receiver got, per alert and block, to check them
// against the chain as it ends (Check): under reorgs, an alert raised in a block the chain
// no longer holds must be retracted there, once, and confirmed in the block that mined its
// transaction in the end. It is safe for concurrent use.
type Alerts struct {
	mu    sync.Mutex
	byID  map[string]*notes
	other int // notifications in a state other than the three
}

// notes are one alert's notifications, by block hash: raised (an early warning or a
// confirmation), warned (an early warning), confirmed, retracted.
type notes struct {
	raised, warned, confirmed, retracted map[string]alerting.Alert
}

// AlertCounts are the notifications Alerts gathered, by state.
type AlertCounts struct {
	Alerts, Provisional, Confirmed, Retracted int
}

// NewAlerts returns an empty Alerts.
func NewAlerts() *Alerts { return &Alerts{byID: map[string]*notes{}} }

// Add records a notification; one in a block it has for the alert and state already
// changes nothing.
func (a *Alerts) Add(n alerting.Alert) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.byID[n.ID]
	if s == nil {
		s = &notes{map[string]alerting.Alert{}, map[string]alerting.Alert{},
			map[string]alerting.Alert{}, map[string]alerting.Alert{}}
		a.byID[n.ID] = s
	}
	switch n.State {
	case alerting.StateProvisional:
		s.raised[n.BlockHash], s.warned[n.BlockHash] = n, n
	case alerting.StateConfirmed:
		s.raised[n.BlockHash], s.confirmed[n.BlockHash] = n, n
	case alerting.StateRetracted:
		s.retracted[n.BlockHash] = n
	default:
		a.other++
	}
}

// Counts returns how many alerts, and notifications of each state (one per block), were
// added.
func (a *Alerts) Counts() AlertCounts {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := AlertCounts{Alerts: len(a.byID)}
	for _, s := range a.byID {
		c.Confirmed += len(s.confirmed)
		c.Provisional += len(s.warned)
		c.Retracted += len(s.retracted)
	}
	return c
}

// Check checks the notifications of alert id against final, the hash of the block that
// mined its transaction as the chain ends ("": none did, the transaction was dropped):
// every block the alert was raised in, but final, has its retraction; final has its
// confirmation and no retraction; no retraction is of a block it was not raised in. It
// returns the confirmation in final (the zero Alert when final is "") and whether any
// notification of id came at all (none: not an error when final is "", the transaction
// dropped before any was judged).
func (a *Alerts) Check(id, final string) (alerting.Alert, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.byID[id]
	switch {
	case s == nil && final == "":
		return alerting.Alert{}, false, nil
	case s == nil:
		return alerting.Alert{}, false, fmt.Errorf("alert %s: none", id)
	}
	for b := range s.retracted {
		if _, ok := s.raised[b]; !ok {
			return alerting.Alert{}, true, fmt.Errorf("alert %s: retracted in block %s, "+
				"never raised there", id, b)
		}
	}
	for b, n := range s.raised {
		_, gone := s.retracted[b]
		switch {
		case b == final && gone:
			return alerting.Alert{}, true, fmt.Errorf("alert %s (%s %s): retracted in block "+
				"%s, which mined it", id, n.Rule, n.Tx, b)
		case b != final && !gone:
			return alerting.Alert{}, true, fmt.Errorf("alert %s (%s %s): raised in orphaned "+
				"block %d %s, not retracted", id, n.Rule, n.Tx, n.Block, b)
		}
	}
	if final == "" {
		return alerting.Alert{}, true, nil
	}
	c, ok := s.confirmed[final]
	if !ok {
		return alerting.Alert{}, true, fmt.Errorf("alert %s: not confirmed in block %s, "+
			"which mined it", id, final)
	}
	return c, true, nil
}

// Unexpected returns an error naming the alerts not in want (by id), and notifications in
// a state other than provisional, confirmed or retracted; nil if there are none.
func (a *Alerts) Unexpected(want map[string]bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.other > 0 {
		return fmt.Errorf("%d notifications in no state of an alert's", a.other)
	}
	for _, id := range slices.Sorted(maps.Keys(a.byID)) {
		if !want[id] {
			for _, n := range a.byID[id].raised {
				return fmt.Errorf("alert %s (%s %s): not expected", id, n.Rule, n.Tx)
			}
			return fmt.Errorf("alert %s: not expected, and only retracted", id)
		}
	}
	return nil
}
