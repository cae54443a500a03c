package config

// The alerting part of the config: sinks (each of its own type with the type's own keys),
// grouping into incidents, escalation and the routing tree.

import (
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/flowwatch/flowwatch/alerting/email"
	"github.com/flowwatch/flowwatch/alerting/file"
	"github.com/flowwatch/flowwatch/alerting/pagerduty"
	"github.com/flowwatch/flowwatch/alerting/slack"
	"github.com/flowwatch/flowwatch/alerting/webhook"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// Sink is an alert destination: a name, a type, delivery limits, and the type's own keys
// (see each sink package's Config), decoded into the one of File, Webhook, Slack,
// PagerDuty or Email that the type names.
type Sink struct {
	Name string
	Type string // file, webhook, slack, pagerduty, email
	// Rate limits notifications per second to the sink (0: none), in bursts of Burst.
	Rate  float64
	Burst int

	File      *file.Config
	Webhook   *webhook.Config
	Slack     *slack.Config
	PagerDuty *pagerduty.Config
	Email     *email.Config

	rest *yaml.Node // the type's keys, decoded in Validate
}

// SinkTypes are the sink types, in the order errors list them.
var SinkTypes = []string{"file", "webhook", "slack", "pagerduty", "email"}

// UnmarshalYAML takes the keys common to every sink and keeps the rest for the type.
func (s *Sink) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a sink is a mapping of keys", n.Line)
	}
	s.rest = &yaml.Node{Kind: yaml.MappingNode, Line: n.Line}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var err error
		switch k.Value {
		case "name":
			err = v.Decode(&s.Name)
		case "type":
			err = v.Decode(&s.Type)
		case "rate":
			err = v.Decode(&s.Rate)
		case "burst":
			err = v.Decode(&s.Burst)
		default:
			s.rest.Content = append(s.rest.Content, k, v)
		}
		if err != nil {
			return fmt.Errorf("line %d: %s: %w", v.Line, k.Value, err)
		}
	}
	return nil
}

// decode decodes the type's keys into the type's config, refusing keys it does not have,
// then applies its defaults and checks it.
func (s *Sink) decode() error {
	var target any
	switch s.Type {
	case "file":
		s.File = &file.Config{}
		target = s.File
	case "webhook":
		s.Webhook = &webhook.Config{}
		target = s.Webhook
	case "slack":
		s.Slack = &slack.Config{}
		target = s.Slack
	case "pagerduty":
		s.PagerDuty = &pagerduty.Config{}
		target = s.PagerDuty
	case "email":
		s.Email = &email.Config{}
		target = s.Email
	default:
		return fmt.Errorf("type: %q, want %s", s.Type, strings.Join(SinkTypes, ", "))
	}
	if s.rest == nil {
		s.rest = &yaml.Node{Kind: yaml.MappingNode}
	}
	known := yamlKeys(target)
	for i := 0; i+1 < len(s.rest.Content); i += 2 {
		if k := s.rest.Content[i]; !slices.Contains(known, k.Value) {
			return fmt.Errorf("%s: unknown key of a %s sink (line %d; keys: %s)", k.Value,
				s.Type, k.Line, strings.Join(known, ", "))
		}
	}
	if err := s.rest.Decode(target); err != nil {
		return errors.New(strings.ReplaceAll(err.Error(), "\n ", ""))
	}
	type checked interface {
		SetDefaults()
		Validate() error
	}
	c := target.(checked)
	c.SetDefaults()
	return c.Validate()
}

// yamlKeys are the YAML keys of a config struct's fields.
func yamlKeys(v any) []string {
	t := reflect.TypeOf(v).Elem()
	var out []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" &&
			name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// Alerting configures how alerts become notifications: grouping into incidents,
// escalation, routing, and the heartbeat.
type Alerting struct {
	// GroupWait is how long a new incident gathers alerts before its first notification
	// (0: at once); GroupInterval how long an update waits after the last notification;
	// RepeatInterval how long an open incident waits to be told again unchanged (0:
	// never); GroupWindow how long after its last alert a flow's incident takes more.
	GroupWait      *time.Duration `yaml:"group_wait"`
	GroupInterval  time.Duration  `yaml:"group_interval"`
	RepeatInterval *time.Duration `yaml:"repeat_interval"`
	GroupWindow    time.Duration  `yaml:"group_window"`
	Escalate       []Escalation   `yaml:"escalate"`
	// Route is the routing tree; a rule's own sinks get its notifications too.
	Route *Route `yaml:"route"`
	// Heartbeat, when set, sends "pipeline alive" notifications and lag alerts.
	Heartbeat *Heartbeat `yaml:"heartbeat"`
}

// Escalation raises an incident's severity to To once its total of Asset reaches Over
// (base units).
type Escalation struct {
	Asset string `yaml:"asset"`
	Over  string `yaml:"over"`
	To    string `yaml:"to"`
}

// Route is a node of the routing tree (see alerting.RouteNode).
type Route struct {
	Match    Match    `yaml:"match"`
	Sinks    []string `yaml:"sinks"`
	Continue bool     `yaml:"continue"`
	Routes   []Route  `yaml:"routes"`
}

// Match selects notifications; an empty list matches anything.
type Match struct {
	Severity []string `yaml:"severity"`
	Rule     []string `yaml:"rule"`
	Chain    []string `yaml:"chain"`
	Category []string `yaml:"category"`
}

// Heartbeat configures the periodic "pipeline alive" notice and the lag alert.
type Heartbeat struct {
	Sink  string        `yaml:"sink"`
	Every time.Duration `yaml:"every"`
	// MaxLag is how far behind its node's head a chain may fall before an alert says so.
	MaxLag time.Duration `yaml:"max_lag"`
}

// Severities are the severities rules and escalations take.
var Severities = []string{"low", "medium", "high", "critical"}

// Escalations parses the escalations.
func (a *Alerting) Escalations() ([]EscalationRule, error) {
	var out []EscalationRule
	for i, e := range a.Escalate {
		key := fmt.Sprintf("alerting.escalate[%d]", i)
		amounts, err := assetAmounts(key+".over", map[string]string{e.Asset: e.Over})
		if err != nil {
			return nil, err
		}
		if !slices.Contains(Severities, e.To) {
			return nil, fmt.Errorf("%s.to: %q, want %s", key, e.To,
				strings.Join(Severities, ", "))
		}
		for asset, v := range amounts {
			if v.Sign() <= 0 {
				return nil, fmt.Errorf("%s.over: want more than 0", key)
			}
			out = append(out, EscalationRule{Asset: asset, Over: v, To: e.To})
		}
	}
	return out, nil
}

// EscalationRule is a parsed Escalation.
type EscalationRule struct {
	Asset string
	Over  *big.Int
	To    string
}

// validateAlerting checks the sinks and the alerting section against the rules and chains.
func (c *Config) validateAlerting(sinks map[string]bool) error {
	a := &c.Alerting
	switch {
	case a.GroupWait != nil && *a.GroupWait < 0:
		return fmt.Errorf("alerting.group_wait: %s, want 0 or more", *a.GroupWait)
	case a.GroupInterval < 0:
		return fmt.Errorf("alerting.group_interval: %s, want more than 0", a.GroupInterval)
	case a.RepeatInterval != nil && *a.RepeatInterval < 0:
		return fmt.Errorf("alerting.repeat_interval: %s, want 0 (never) or more",
			*a.RepeatInterval)
	case a.GroupWindow < 0:
		return fmt.Errorf("alerting.group_window: %s, want more than 0", a.GroupWindow)
	}
	if _, err := a.Escalations(); err != nil {
		return err
	}
	if a.Route != nil {
		if err := c.validateRoute(a.Route, "alerting.route", sinks); err != nil {
			return err
		}
	}
	if h := a.Heartbeat; h != nil {
		switch {
		case !sinks[h.Sink]:
			return fmt.Errorf("alerting.heartbeat.sink: no sink named %q", h.Sink)
		case h.Every < time.Second:
			return fmt.Errorf("alerting.heartbeat.every: %s, want 1s or more", h.Every)
		case h.MaxLag < 0:
			return fmt.Errorf("alerting.heartbeat.max_lag: %s, want 0 (no lag alert) or more",
				h.MaxLag)
		}
	}
	return nil
}

func (c *Config) validateRoute(r *Route, key string, sinks map[string]bool) error {
	for j, s := range r.Sinks {
		if !sinks[s] {
			return fmt.Errorf("%s.sinks[%d]: no sink named %q", key, j, s)
		}
	}
	for _, sev := range r.Match.Severity {
		if !slices.Contains(Severities, sev) {
			return fmt.Errorf("%s.match.severity: %q, want %s", key, sev,
				strings.Join(Severities, ", "))
		}
	}
	for _, name := range r.Match.Rule {
		// The heartbeat's lag alerts, when it raises them, are routed like a rule's.
		if name == rules.RuleLag && c.Alerting.Heartbeat != nil &&
			c.Alerting.Heartbeat.MaxLag > 0 {
			continue
		}
		if name == rules.RuleLag {
			return fmt.Errorf("%s.match.rule: %q: lag alerts need alerting.heartbeat.max_lag",
				key, name)
		}
		if !slices.ContainsFunc(c.Rules, func(rl Rule) bool { return rl.Name == name }) {
			return fmt.Errorf("%s.match.rule: no rule named %q", key, name)
		}
	}
	for _, name := range r.Match.Chain {
		if _, ok := c.Chain(name); !ok {
			return fmt.Errorf("%s.match.chain: no chain named %q", key, name)
		}
	}
	for i := range r.Routes {
		if err := c.validateRoute(&r.Routes[i], fmt.Sprintf("%s.routes[%d]", key, i),
			sinks); err != nil {
			return err
		}
	}
	return nil
}
