package pagerduty

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/internal/post"
	"github.com/flowwatch/flowwatch/alerting/internal/render"
)

var _ alerting.Notifier = (*Sink)(nil)

// Event actions.
const (
	ActionTrigger = "trigger"
	ActionResolve = "resolve"
)

// Event is an Events API v2 event.
type Event struct {
	RoutingKey  string  `json:"routing_key"`
	EventAction string  `json:"event_action"`
	DedupKey    string  `json:"dedup_key"`
	Payload     Payload `json:"payload"`
	Links       []Link  `json:"links,omitempty"`
	Client      string  `json:"client,omitempty"`
}

// Payload is an event's payload.
type Payload struct {
	Summary       string  `json:"summary"`
	Source        string  `json:"source"`
	Severity      string  `json:"severity"`
	Timestamp     string  `json:"timestamp,omitempty"`
	Component     string  `json:"component,omitempty"`
	Group         string  `json:"group,omitempty"`
	Class         string  `json:"class,omitempty"`
	CustomDetails Details `json:"custom_details"`
}

// Details are the event's custom details: the incident and the notification's alerts.
type Details struct {
	Key      string             `json:"notification"`
	Incident *alerting.Incident `json:"incident"`
	Alerts   []alerting.Alert   `json:"alerts"`
}

// Link is a link shown with the incident.
type Link struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// maxLinks bounds the links of an event.
const maxLinks = 5

// Sink sends notifications to one PagerDuty service (its integration's routing key).
type Sink struct {
	url, key string
	client   *http.Client
}

// NewEvent is the event of a notification, for routing key key.
func NewEvent(key string, alerts []alerting.Alert) Event {
	in := render.Incident(alerts)
	e := Event{RoutingKey: key, EventAction: ActionTrigger, DedupKey: in.ID,
		Client: "flowwatch"}
	if in.Status == alerting.StatusRetracted {
		e.EventAction = ActionResolve
	}
	if e.DedupKey == "" { // alerts without an incident: one PagerDuty incident per alert
		e.DedupKey = alerts[0].ID
	}
	details := Details{Key: alerts[0].NotificationKey(), Incident: in,
		Alerts: make([]alerting.Alert, len(alerts))}
	for i, a := range alerts {
		a.Incident = nil
		details.Alerts[i] = a
		if u := render.Explorer(a, a.Tx); u != "" && len(e.Links) < maxLinks {
			e.Links = append(e.Links, Link{Href: u, Text: "tx " + render.Short(a.Tx)})
		}
	}
	e.Payload = Payload{Summary: render.Trim(render.Headline(alerts)+" — "+render.Summary(in), 1024),
		Source: "flowwatch/" + in.Chain, Severity: severity(in.Severity),
		Timestamp: alerts[len(alerts)-1].Time.UTC().Format(time.RFC3339),
		Component: render.Party(in.Destination), Group: in.Source.Entity, Class: in.Rule,
		CustomDetails: details}
	return e
}

func severity(s string) string {
	switch s {
	case "critical":
		return "critical"
	case "high":
		return "error"
	case "medium", "warning":
		return "warning"
	}
	return "info"
}

// Notify implements alerting.Notifier: one event per notification.
func (s *Sink) Notify(ctx context.Context, alerts ...alerting.Alert) (bool, error) {
	if len(alerts) == 0 {
		return false, nil
	}
	e := NewEvent(s.key, alerts)
	return post.JSON(ctx, s.client, s.url, &e, nil, fmt.Sprintf("pagerduty %s of %s",
		e.EventAction, e.Payload.CustomDetails.Key), s.key)
}
