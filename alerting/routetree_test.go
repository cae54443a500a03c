package alerting

import (
	"strings"
	"testing"
)

func TestRouteTree(t *testing.T) {
	tree := RouteNode{Sinks: []string{"file"}, Routes: []RouteNode{
		{Match: Match{Severity: []string{"critical"}}, Sinks: []string{"pagerduty"},
			Continue: true},
		{Match: Match{Category: []string{"mixer", "bridge"}}, Sinks: []string{"slack"}},
		{Match: Match{Chain: []string{"bitcoin"}}, Routes: []RouteNode{
			{Match: Match{Rule: []string{"ransom"}}, Sinks: []string{"email"}},
		}, Sinks: []string{"slack-btc"}},
	}}
	alert := func(sev, chain, rule, category string, incident bool) *Alert {
		a := &Alert{Severity: "low", Chain: chain, Rule: rule,
			Destination: Party{Category: category}}
		if incident {
			a.Incident = &Incident{Severity: sev} // escalated: the incident's counts
		} else {
			a.Severity = sev
		}
		return a
	}
	tests := []struct {
		name string
		give *Alert
		want string
	}{
		{"nothing matches: the root's sinks", alert("high", "ethereum", "r", "exchange", false),
			"file"},
		{"critical continues to the mixer route", alert("critical", "ethereum", "r", "mixer",
			true), "pagerduty slack"},
		{"critical alone", alert("critical", "ethereum", "r", "exchange", true), "pagerduty"},
		{"without an incident, the alert's severity", alert("critical", "ethereum", "r", "exchange",
			false), "pagerduty"},
		{"first match stops", alert("high", "bitcoin", "r", "bridge", false), "slack"},
		{"nested route", alert("high", "bitcoin", "ransom", "exchange", false), "email"},
		{"nested: no child matches, the parent's sinks", alert("high", "bitcoin", "other",
			"exchange", false), "slack-btc"},
	}
	for _, tt := range tests {
		if got := strings.Join(tree.Route(tt.give), " "); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := strings.Join(tree.SinkNames(), " "); got !=
		"file pagerduty slack slack-btc email" {
		t.Errorf("sink names %q", got)
	}
}
