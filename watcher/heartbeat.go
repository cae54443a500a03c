package watcher

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// Rules of the alerts about flowwatch itself.
const (
	RuleHeartbeat = rules.RuleHeartbeat // "pipeline alive", sent straight to the heartbeat sink
	RuleLag       = rules.RuleLag       // a chain fell behind; logged and routed like any alert
)

// StatusReporter tells where a poller is (Poller implements it).
type StatusReporter interface {
	Status() PollerStatus
}

var _ StatusReporter = (*Poller)(nil)

// HeartbeatOptions configure a Heartbeat.
type HeartbeatOptions struct {
	// Every is how often "pipeline alive" is sent; MaxLag how long a chain may go without
	// its poller reaching the node's head before a lag alert (0: no lag alert).
	Every, MaxLag time.Duration
	Logger        *zap.Logger
	Now           func() time.Time
}

// Heartbeat says, every Every, to one sink that the pipeline is alive: each chain's block
// published, the node's head and when the poller last reached it, and the alert log's head
// hash (kept there, outside Redis, it shows a truncated log). It raises a lag alert when a
// chain's poller has not reached its node's head for MaxLag, and retracts it when it has,
// so that a silent outage is not taken for a quiet chain: a quiet chain's poller reaches
// the head at every poll. A heartbeat started (after a restart) first reads back from the
// alert log the lag alerts not retracted there, of the last DefaultLogLookBack, and
// retracts them once their chain is at its head again.
type Heartbeat struct {
	pollers []StatusReporter
	sink    alerting.Notifier
	alerts  alerting.Stage // the workers' stage: lag alerts are logged and routed
	// journal: its head is reported, and the lag alerts left unsettled read back; nil:
	// neither.
	journal alerting.Journal
	opts    HeartbeatOptions
	log     *zap.Logger
	beats   int
	lagging map[string]alerting.Alert // per chain, the lag alert in force
	read    bool                      // lagging holds those the log had unsettled
	started time.Time
}

// NewHeartbeat returns a heartbeat.
func NewHeartbeat(pollers []StatusReporter, sink alerting.Notifier, alerts alerting.Stage,
	journal alerting.Journal, opts HeartbeatOptions) (*Heartbeat, error) {
	switch {
	case opts.Every <= 0:
		return nil, errors.New("heartbeat every: want more than 0")
	case opts.MaxLag < 0:
		return nil, errors.New("heartbeat max_lag: want 0 (none) or more")
	case sink == nil || alerts == nil:
		return nil, errors.New("heartbeat: no sink or alert stage")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Heartbeat{pollers: pollers, sink: sink, alerts: alerts, journal: journal,
		opts: opts, log: opts.Logger, lagging: map[string]alerting.Alert{},
		started: opts.Now()}, nil
}

// Run beats until ctx ends; it returns ctx's error. It checks the lag ten times per beat.
func (h *Heartbeat) Run(ctx context.Context) error {
	check := h.opts.Every / 10
	if h.opts.MaxLag > 0 {
		check = min(check, h.opts.MaxLag/4)
	}
	t := time.NewTicker(max(check, 10*time.Millisecond))
	defer t.Stop()
	next := h.opts.Now()
	for {
		if err := h.Check(ctx); err != nil && ctx.Err() == nil {
			h.log.Warn("lag alert", zap.Error(err))
		}
		if now := h.opts.Now(); !now.Before(next) {
			if err := h.Beat(ctx); err != nil && ctx.Err() == nil {
				h.log.Warn("heartbeat", zap.Error(err))
			}
			next = now.Add(h.opts.Every)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Beat sends one "pipeline alive" notification.
func (h *Heartbeat) Beat(ctx context.Context) error {
	now := h.opts.Now().UTC()
	h.beats++
	in := &alerting.Incident{ID: "heartbeat", Seq: h.beats, Reason: RuleHeartbeat,
		Status: alerting.StatusOpen, Rule: RuleHeartbeat, Severity: "low",
		Source:      alerting.Party{Entity: "flowwatch"},
		Destination: alerting.Party{Entity: "pipeline alive"}, Opened: h.started,
		Updated: now, Totals: map[string]string{}}
	var as []alerting.Alert
	for _, p := range h.pollers {
		s := p.Status()
		note := fmt.Sprintf("%s: published block %d, node head %d, %s", s.Chain, s.Published,
			s.Head, since(s.AtHead, now))
		if s.Standby {
			note = s.Chain + ": standing by (another process publishes the chain)"
		}
		if s.Err != "" {
			note += "; last error: " + s.Err
		}
		as = append(as, h.notice(in, s.Chain, now, note))
	}
	if h.journal != nil {
		seq, hash, err := h.journal.Head(ctx)
		note := fmt.Sprintf("alert log: %d entries, head hash %s", seq, hash)
		if err != nil {
			note = "alert log: head unreadable: " + err.Error()
		}
		as = append(as, h.notice(in, "", now, note))
	}
	in.Alerts = len(as)
	_, err := h.sink.Notify(ctx, as...)
	return err
}

func since(t, now time.Time) string {
	if t.IsZero() {
		return "not yet at the head"
	}
	return "at the head " + now.Sub(t).Round(time.Second).String() + " ago"
}

func (h *Heartbeat) notice(in *alerting.Incident, chain string, now time.Time,
	note string) alerting.Alert {
	return alerting.Alert{ID: alerting.AlertID(RuleHeartbeat, chain, strconv.Itoa(h.beats),
		""), Rule: RuleHeartbeat, Severity: "low", State: alerting.StateConfirmed,
		Chain: chain, Time: now, Source: in.Source, Destination: in.Destination, Note: note,
		Incident: in}
}

// Check raises a lag alert for each chain whose poller has not reached its node's head
// for MaxLag (since it started, if it never has), and retracts it once the poller has.
func (h *Heartbeat) Check(ctx context.Context) error {
	if h.opts.MaxLag == 0 {
		return nil
	}
	if !h.read && h.journal != nil {
		left, err := unsettled(ctx, h.journal, DefaultLogLookBack, logReadBack,
			alerting.StateConfirmed,
			func(a *alerting.Alert) bool { return a.Rule == RuleLag })
		if err != nil {
			return err
		}
		clear(h.lagging) // a read that failed before may have filled it
		var superseded []alerting.Alert
		for _, a := range left { // oldest first: the latest of a chain's is in force
			if old, ok := h.lagging[a.Chain]; ok {
				old.State, old.Time = alerting.StateRetracted, h.opts.Now().UTC()
				old.Note = fmt.Sprintf("%s: superseded by a later lag alert", a.Chain)
				superseded = append(superseded, old)
			}
			h.lagging[a.Chain] = a
		}
		if len(superseded) > 0 {
			if _, err := h.alerts.Exec(ctx, superseded...); err != nil {
				return err
			}
		}
	}
	h.read = true
	now := h.opts.Now().UTC()
	var out []alerting.Alert
	for _, p := range h.pollers {
		s := p.Status()
		if s.Standby { // the process that publishes the chain watches its lag
			continue
		}
		at := s.AtHead
		if at.IsZero() {
			at = h.started
		}
		a, lagging := h.lagging[s.Chain]
		switch late := now.Sub(at); {
		case late > h.opts.MaxLag && !lagging:
			note := fmt.Sprintf("%s: not at the node's head for %s (max_lag %s): published "+
				"block %d, node head %d", s.Chain, late.Round(time.Second), h.opts.MaxLag,
				s.Published, s.Head)
			if s.Err != "" {
				note += "; last error: " + s.Err
			}
			a = alerting.Alert{ID: alerting.AlertID(RuleLag, s.Chain,
				strconv.FormatInt(at.UnixNano(), 10), ""), Rule: RuleLag, Severity: "high",
				State: alerting.StateConfirmed, Chain: s.Chain, Block: s.Published, Time: now,
				Source:      alerting.Party{Entity: "flowwatch"},
				Destination: alerting.Party{Entity: s.Chain + " pipeline", Category: "lag"},
				Note:        note}
			out = append(out, a)
		case late <= h.opts.MaxLag && lagging && !s.AtHead.IsZero():
			// At the head again. (Not merely started: a lag alert read back from the log
			// stays in force until the poller reaches the head.)
			a.State, a.Time = alerting.StateRetracted, now
			a.Note = fmt.Sprintf("%s: at the node's head again (block %d): resolved", s.Chain,
				s.Published)
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil
	}
	if _, err := h.alerts.Exec(ctx, out...); err != nil {
		return err
	}
	for _, a := range out {
		if a.State == alerting.StateRetracted {
			delete(h.lagging, a.Chain)
		} else {
			h.lagging[a.Chain] = a
		}
	}
	return nil
}
