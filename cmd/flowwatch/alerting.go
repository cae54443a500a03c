package main

// The alerting half of a system: the alert log the workers append to, and the dispatcher
// that groups, routes and delivers from it.

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/email"
	"github.com/flowwatch/flowwatch/alerting/file"
	"github.com/flowwatch/flowwatch/alerting/pagerduty"
	"github.com/flowwatch/flowwatch/alerting/slack"
	"github.com/flowwatch/flowwatch/alerting/webhook"
	"github.com/flowwatch/flowwatch/watcher"
	"github.com/flowwatch/flowwatch/watcher/config"
)

// buildAlerting makes the journal (in rdb when not nil, else in memory) and the dispatcher
// of cfg, and returns the stage the workers hand their alerts to.
func (s *system) buildAlerting(cfg *config.Config, d deps, rdb redis.UniversalClient) (
	alerting.Stage, error) {
	var (
		j      alerting.Journal
		store  alerting.DispatchStore
		leaser alerting.Leaser
	)
	if rdb != nil {
		j = alerting.NewRedisJournal(rdb, redisPrefix(cfg), nil)
		rd := alerting.NewRedisDispatch(rdb, redisPrefix(cfg))
		store, leaser = rd, rd
	} else {
		j = &alerting.MemoryJournal{}
		md := &alerting.MemoryDispatch{}
		store, leaser = md, md
	}
	if s.metrics != nil {
		j = countingJournal{Journal: j, m: s.metrics}
	}
	opts, err := s.dispatcherOptions(cfg, d)
	if err != nil {
		return nil, err
	}
	disp, err := alerting.NewDispatcher(j, store, leaser, opts)
	if err != nil {
		return nil, fmt.Errorf("alerting: %w", err)
	}
	s.dispatcher, s.journal = disp, j
	s.notifiers = map[string]alerting.Notifier{}
	for name, so := range opts.Sinks {
		s.notifiers[name] = so.Notifier
	}
	return alerting.JournalStage{Journal: j, Appended: disp.Wake}, nil
}

// buildHeartbeat makes the heartbeat cfg asks for, if any, over the system's pollers;
// stage is where its lag alerts go (the workers' stage).
func (s *system) buildHeartbeat(cfg *config.Config, stage alerting.Stage, d deps) error {
	hb := cfg.Alerting.Heartbeat
	if hb == nil {
		return nil
	}
	reporters := make([]watcher.StatusReporter, len(s.pollers))
	for i, p := range s.pollers {
		reporters[i] = p
	}
	h, err := watcher.NewHeartbeat(reporters, s.notifiers[hb.Sink], stage, s.journal,
		watcher.HeartbeatOptions{Every: hb.Every, MaxLag: hb.MaxLag, Logger: d.log})
	if err != nil {
		return fmt.Errorf("alerting.heartbeat: %w", err)
	}
	s.extra = append(s.extra, h.Run)
	return nil
}

func (s *system) dispatcherOptions(cfg *config.Config, d deps) (alerting.DispatcherOptions,
	error) {
	a := &cfg.Alerting
	host, _ := os.Hostname()
	opts := alerting.DispatcherOptions{Name: fmt.Sprintf("%s-%d", host, os.Getpid()),
		Group:     alerting.GroupOptions{GroupInterval: a.GroupInterval, Window: a.GroupWindow},
		RuleSinks: map[string][]string{}, Sinks: map[string]alerting.SinkOptions{},
		Logger: d.log}
	if a.GroupWait != nil {
		opts.Group.GroupWait, opts.Group.ZeroWait = *a.GroupWait, *a.GroupWait == 0
	}
	if a.RepeatInterval != nil {
		opts.Group.RepeatInterval = *a.RepeatInterval
		if *a.RepeatInterval == 0 {
			opts.Group.RepeatInterval = -1 // never
		}
	}
	esc, err := a.Escalations()
	if err != nil {
		return opts, err
	}
	for _, e := range esc {
		opts.Group.Escalations = append(opts.Group.Escalations,
			alerting.Escalation{Asset: e.Asset, Over: e.Over, To: e.To})
	}
	if a.Route != nil {
		opts.Route = routeNode(a.Route)
	}
	for _, r := range cfg.Rules {
		opts.RuleSinks[r.Name] = r.Sinks
	}
	if hb := a.Heartbeat; hb != nil { // lag alerts go to the heartbeat's sink
		opts.RuleSinks[watcher.RuleLag] = []string{hb.Sink}
	}
	for _, sc := range cfg.Sinks {
		n, err := s.notifier(sc, d.stdout)
		if err != nil {
			return opts, err
		}
		if s.metrics != nil {
			n = countingNotifier{Notifier: n, sink: sc.Name, m: s.metrics}
		}
		opts.Sinks[sc.Name] = alerting.SinkOptions{Notifier: n, Rate: sc.Rate, Burst: sc.Burst}
	}
	for name, n := range d.extra {
		opts.Sinks[name] = alerting.SinkOptions{Notifier: n}
	}
	return opts, nil
}

func routeNode(r *config.Route) alerting.RouteNode {
	n := alerting.RouteNode{Sinks: r.Sinks, Continue: r.Continue,
		Match: alerting.Match{Severity: r.Match.Severity, Rule: r.Match.Rule,
			Chain: r.Match.Chain, Category: r.Match.Category}}
	for i := range r.Routes {
		n.Routes = append(n.Routes, routeNode(&r.Routes[i]))
	}
	return n
}

// notifier makes the sink a config entry describes.
func (s *system) notifier(sc config.Sink, stdout io.Writer) (alerting.Notifier, error) {
	var n alerting.Notifier
	var err error
	switch {
	case sc.File != nil:
		var f *file.Sink
		if f, err = file.New(*sc.File, stdout); err == nil {
			s.closers = append(s.closers, f.Close)
			n = f
		}
	case sc.Webhook != nil:
		n, err = webhook.New(*sc.Webhook, nil, nil)
	case sc.Slack != nil:
		n, err = slack.New(*sc.Slack, nil)
	case sc.PagerDuty != nil:
		n, err = pagerduty.New(*sc.PagerDuty, nil)
	case sc.Email != nil:
		n, err = email.New(*sc.Email, nil)
	default:
		err = fmt.Errorf("type %q: not configured", sc.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", sc.Name, err)
	}
	return n, nil
}

// demoAlerting is the embedded default's alerting: every alert told as it comes (a new
// incident at once, its updates a moment later), never reminded.
func demoAlerting() config.Alerting {
	zero := time.Duration(0)
	return config.Alerting{GroupWait: &zero, GroupInterval: 200 * time.Millisecond,
		RepeatInterval: &zero}
}
