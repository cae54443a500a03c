package alerting

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"sort"
	"strconv"
	"time"
)

// Incident is what a notification says of the flow its alerts belong to: the alerts of one
// rule, on one chain, from one source entity to one destination, within a window. Sinks
// get it on every alert of a notification (Alert.Incident).
type Incident struct {
	ID     string `json:"id"`
	Seq    int    `json:"seq"`    // the notification's number in the incident: 1 opened it
	Reason string `json:"reason"` // why this notification: opened, updated, escalated, ...
	// Status is open, or retracted when a reorg retracted every alert of the incident.
	Status      string    `json:"status"`
	Rule        string    `json:"rule"`
	Chain       string    `json:"chain"`
	Severity    string    `json:"severity"` // the rule's, or higher once escalated
	Source      Party     `json:"source"`
	Destination Party     `json:"destination"`
	Opened      time.Time `json:"opened"`  // the first alert's block time
	Updated     time.Time `json:"updated"` // the latest alert's block time
	Alerts      int       `json:"alerts"`  // alerts in force (not retracted)
	Retracted   int       `json:"retracted"`
	// Totals are, per asset, the watched funds the alerts in force moved (base units,
	// decimal): tainted amounts where the model says, amounts otherwise.
	Totals  map[string]string `json:"totals"`
	MaxHops int               `json:"max_hops"`
}

// Incident statuses and notification reasons.
const (
	StatusOpen      = "open"
	StatusRetracted = "retracted"

	ReasonOpened    = "opened"
	ReasonUpdated   = "updated"
	ReasonEscalated = "escalated"
	ReasonRetracted = "retracted"
	ReasonReminder  = "reminder"
)

// Defaults for GroupOptions.
const (
	DefaultGroupWait      = 30 * time.Second
	DefaultGroupInterval  = 5 * time.Minute
	DefaultRepeatInterval = 4 * time.Hour
	DefaultGroupWindow    = 24 * time.Hour
)

// Escalation raises an incident's severity once its total of an asset reaches Over.
type Escalation struct {
	Asset string   // chains' "native" or a token's address
	Over  *big.Int // base units
	To    string   // severity
}

// GroupOptions configure a Grouper.
type GroupOptions struct {
	// GroupWait is how long a new incident gathers alerts before its first notification;
	// GroupInterval how long after a notification the next update waits; RepeatInterval
	// how long after the last notification an open incident is notified again unchanged
	// (negative: never); Window how long after its latest alert an incident takes new
	// alerts (after that the flow opens a new incident).
	GroupWait, GroupInterval, RepeatInterval, Window time.Duration
	Escalations                                      []Escalation
	// ZeroWait makes GroupWait 0 (the zero value means the default).
	ZeroWait bool
}

func (o *GroupOptions) setDefaults() {
	if o.GroupWait == 0 && !o.ZeroWait {
		o.GroupWait = DefaultGroupWait
	}
	if o.GroupInterval == 0 {
		o.GroupInterval = DefaultGroupInterval
	}
	if o.RepeatInterval == 0 {
		o.RepeatInterval = DefaultRepeatInterval
	}
	if o.Window == 0 {
		o.Window = DefaultGroupWindow
	}
}

// Validate reports the first invalid option, naming it.
func (o *GroupOptions) Validate() error {
	switch {
	case o.GroupWait < 0:
		return fmt.Errorf("group_wait %s: want 0 or more", o.GroupWait)
	case o.GroupInterval <= 0:
		return fmt.Errorf("group_interval %s: want more than 0", o.GroupInterval)
	case o.Window <= 0:
		return fmt.Errorf("group_window %s: want more than 0", o.Window)
	}
	for i, e := range o.Escalations {
		if e.Asset == "" || e.Over == nil || e.Over.Sign() <= 0 || SeverityRank(e.To) == 0 {
			return fmt.Errorf("escalate[%d]: want an asset, an amount over 0 and a severity "+
				"(low, medium, high, critical)", i)
		}
	}
	return nil
}

// SeverityRank orders severities: low 1, medium 2, high 3, critical 4; anything else 0.
func SeverityRank(s string) int {
	switch s {
	case "low", "info":
		return 1
	case "medium", "warning":
		return 2
	case "high":
		return 3
	case "critical":
		return 4
	}
	return 0
}

// IncidentKey is the flow an alert belongs to: rule, chain, source entity (or address)
// and destination (entity and category, or address).
func IncidentKey(a *Alert) string {
	src := a.Source.Entity
	if src == "" {
		src = a.Source.Address
	}
	dst := a.Destination.Address
	if a.Destination.Entity != "" {
		dst = a.Destination.Category + ":" + a.Destination.Entity
	}
	return a.Rule + "\x00" + a.Chain + "\x00" + src + "\x00" + dst
}

// incidentState is an incident as the Grouper keeps it.
type incidentState struct {
	Incident
	Key string `json:"key"`
	// Members are the incident's alerts, by alert id: their latest state and amounts.
	Members map[string]member `json:"members"`
	// Pending are the notifications of alerts not notified yet, in order.
	Pending []Alert `json:"pending,omitempty"`
	Last    Alert   `json:"last"` // the latest alert, repeated in a reminder
	// Notified is how many notifications were made; NotifiedAt when the last was; NextAt
	// when the next is due (zero: none); Escalated says an escalation waits to be told.
	Notified   int       `json:"notified"`
	NotifiedAt time.Time `json:"notified_at"`
	NextAt     time.Time `json:"next_at"`
	Escalated  bool      `json:"escalated,omitempty"`
	Seen       time.Time `json:"seen"` // when the latest alert came (the dispatcher's clock)
	// ByRetraction: a retraction opened the incident (the one it takes back from is gone).
	ByRetraction bool `json:"by_retraction,omitempty"`
}

type member struct {
	State State `json:"state"` // Standing's
	// Standing is where it stands (nil in a member saved before it was kept: its next
	// notification replaces its State, as it did then).
	Standing Standing `json:"standing,omitempty"`
	Asset    string   `json:"asset"`
	Tainted  string   `json:"tainted"`
	Hops     int      `json:"hops"`
}

// Grouper gathers alerts into incidents and says when each is due a notification. It is a
// state machine driven by the caller's clock: Add alerts, then take what is Due. Not safe
// for concurrent use.
type Grouper struct {
	opts      GroupOptions
	incidents map[string]*incidentState // by key: the open incidents
	changed   map[string]bool           // keys changed since TakeChanged
}

// NewGrouper returns a Grouper.
func NewGrouper(opts GroupOptions) (*Grouper, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Grouper{opts: opts, incidents: map[string]*incidentState{},
		changed: map[string]bool{}}, nil
}

// Add puts an alert notification into its incident at time now, opening one if the flow
// has none in its window.
func (g *Grouper) Add(now time.Time, a Alert) {
	key := IncidentKey(&a)
	in := g.incidents[key]
	if in != nil && a.State != StateRetracted && now.Sub(in.Seen) > g.opts.Window &&
		in.NextAt.IsZero() && len(in.Pending) == 0 {
		in = nil // the window passed and the old incident told all: a new one
	}
	if in == nil {
		// (A retraction whose incident is gone opens one, retracted, to say so at once.)
		in = &incidentState{Key: key, Members: map[string]member{}}
		in.Incident = Incident{ID: incidentID(key, a.Time, now), Status: StatusOpen,
			Rule: a.Rule, Chain: a.Chain, Severity: a.Severity, Source: a.Source,
			Destination: a.Destination, Opened: a.Time}
		in.NextAt = now.Add(g.opts.GroupWait)
		in.ByRetraction = a.State == StateRetracted
		g.incidents[key] = in
	}
	g.changed[key] = true
	tainted := a.TaintedAmount
	if tainted == "" {
		tainted = a.Amount
	}
	// A retraction takes back only the alert raised in the block it names (the
	// notification tells it all the same).
	m, ok := in.Members[a.ID]
	st := maps.Clone(m.Standing) // nil if saved before it was kept: replaced, as then
	st.Note(&a)
	if a.State != StateRetracted || !ok {
		m = member{Asset: a.Asset, Tainted: tainted, Hops: len(a.Path)}
	}
	m.State, m.Standing = st.State(), st
	in.Members[a.ID] = m
	if a.State != StateRetracted {
		in.Last = a
		if a.Time.After(in.Updated) {
			in.Updated = a.Time
		}
	}
	in.Seen = now
	in.Pending = append(in.Pending, a)
	in.tally()
	wasSeverity := in.Severity
	g.escalate(in)
	switch {
	case in.Notified == 0 && in.ByRetraction:
		in.NextAt = now // it takes back what was told: at once
	case in.Notified == 0: // still gathering: the first notification tells all
	case a.State == StateRetracted || in.Severity != wasSeverity:
		in.NextAt = now // a retraction or an escalation is told at once
	case in.NextAt.IsZero() || in.NextAt.After(in.NotifiedAt.Add(g.opts.GroupInterval)):
		in.NextAt = maxTime(now, in.NotifiedAt.Add(g.opts.GroupInterval))
	}
}

// tally recounts the members in force, the totals and the status.
func (in *incidentState) tally() {
	totals := map[string]*big.Int{}
	in.Alerts, in.Retracted, in.MaxHops = 0, 0, 0
	for _, m := range in.Members {
		if m.State == StateRetracted {
			in.Retracted++
			continue
		}
		in.Alerts++
		in.MaxHops = max(in.MaxHops, m.Hops)
		v, ok := new(big.Int).SetString(m.Tainted, 10)
		if !ok {
			continue
		}
		if totals[m.Asset] == nil {
			totals[m.Asset] = new(big.Int)
		}
		totals[m.Asset].Add(totals[m.Asset], v)
	}
	in.Totals = map[string]string{}
	for asset, v := range totals {
		in.Totals[asset] = v.String()
	}
	in.Status = StatusOpen
	if in.Alerts == 0 {
		in.Status = StatusRetracted
	}
}

// escalate raises the incident's severity to the highest escalation its totals reach.
func (g *Grouper) escalate(in *incidentState) {
	for _, e := range g.opts.Escalations {
		total, ok := new(big.Int).SetString(in.Totals[e.Asset], 10)
		if !ok || total.Cmp(e.Over) < 0 || SeverityRank(e.To) <= SeverityRank(in.Severity) {
			continue
		}
		in.Severity, in.Escalated = e.To, true
	}
}

// Due returns the notifications due at now, one per incident, oldest due first: the
// incident as it stands and the alert notifications it has not told (for a reminder, its
// latest alert again). Each is counted as made: the caller delivers it (durably queued).
func (g *Grouper) Due(now time.Time) [][]Alert {
	var due []*incidentState
	for _, in := range g.incidents {
		if !in.NextAt.IsZero() && !in.NextAt.After(now) {
			due = append(due, in)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		if !due[i].NextAt.Equal(due[j].NextAt) {
			return due[i].NextAt.Before(due[j].NextAt)
		}
		return due[i].ID < due[j].ID
	})
	var out [][]Alert
	for _, in := range due {
		g.changed[in.Key] = true
		if in.Notified == 0 && in.Status == StatusRetracted && !in.ByRetraction {
			// Retracted before anyone was told: nothing to tell or take back.
			in.Pending, in.NextAt = nil, time.Time{}
			continue
		}
		inc := in.Incident
		inc.Seq = in.Notified + 1
		alerts := in.Pending
		switch {
		case in.Status == StatusRetracted:
			inc.Reason = ReasonRetracted
		case in.Notified == 0:
			inc.Reason = ReasonOpened
		case in.Escalated:
			inc.Reason = ReasonEscalated
		case len(alerts) > 0:
			inc.Reason = ReasonUpdated
		default:
			inc.Reason = ReasonReminder
			alerts = []Alert{in.Last}
		}
		ip := &inc
		notice := make([]Alert, len(alerts))
		for i := range alerts {
			notice[i] = alerts[i]
			notice[i].Incident = ip
		}
		out = append(out, notice)
		in.Notified, in.NotifiedAt, in.Pending, in.Escalated = inc.Seq, now, nil, false
		in.NextAt = time.Time{}
		if in.Status == StatusOpen && g.opts.RepeatInterval > 0 {
			in.NextAt = now.Add(g.opts.RepeatInterval)
		}
		if in.Status == StatusRetracted || !in.NextAt.Before(in.Seen.Add(g.opts.Window)) {
			in.NextAt = time.Time{} // no reminders past the window, or once retracted
		}
	}
	return out
}

// Next is when the next notification is due; zero when none is.
func (g *Grouper) Next() time.Time {
	var next time.Time
	for _, in := range g.incidents {
		if !in.NextAt.IsZero() && (next.IsZero() || in.NextAt.Before(next)) {
			next = in.NextAt
		}
	}
	return next
}

// Expire drops the incidents done at now: past their window, with nothing left to tell.
// It returns their keys.
func (g *Grouper) Expire(now time.Time) []string {
	var gone []string
	for key, in := range g.incidents {
		if in.NextAt.IsZero() && len(in.Pending) == 0 && now.Sub(in.Seen) > g.opts.Window {
			delete(g.incidents, key)
			delete(g.changed, key)
			gone = append(gone, key)
		}
	}
	return gone
}

// TakeChanged returns the incidents changed since the last call, encoded for a store,
// keyed by incident key.
func (g *Grouper) TakeChanged() map[string]incidentState {
	out := make(map[string]incidentState, len(g.changed))
	for key := range g.changed {
		if in := g.incidents[key]; in != nil {
			out[key] = *in
		}
	}
	clear(g.changed)
	return out
}

// restore puts back incidents a store kept.
func (g *Grouper) restore(ins []incidentState) error {
	for i := range ins {
		in := ins[i]
		if in.Key == "" || in.ID == "" {
			return errors.New("stored incident without key or id")
		}
		g.incidents[in.Key] = &in
	}
	return nil
}

func incidentID(key string, first, now time.Time) string {
	h := sha256.Sum256([]byte(key + "\x00" + strconv.FormatInt(first.UnixNano(), 10) +
		"\x00" + strconv.FormatInt(now.UnixNano(), 10)))
	return hex.EncodeToString(h[:10])
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
