package pagerduty

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/sinktest"
)

const routingKey = "R0123456789abcdefSECRETKEYxyz789"

// service is the Events API v2 as PagerDuty documents it: it checks each event, answers
// 202 with the dedup key, and keeps one incident per dedup key, triggered or resolved.
type service struct {
	mu        sync.Mutex
	events    []Event
	incidents map[string]string // dedup key -> triggered, resolved
	refusals  []func(w http.ResponseWriter)
}

func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.refusals) > 0 {
		s.refusals[0](w)
		s.refusals = s.refusals[1:]
		return
	}
	var e Event
	if err := json.Unmarshal(body, &e); err != nil || r.URL.Path != "/v2/enqueue" {
		invalid(w, "Event object is invalid")
		return
	}
	if msg := check(&e); msg != "" {
		invalid(w, msg)
		return
	}
	s.events = append(s.events, e)
	switch e.EventAction {
	case ActionTrigger:
		s.incidents[e.DedupKey] = "triggered"
	case ActionResolve:
		if _, ok := s.incidents[e.DedupKey]; ok {
			s.incidents[e.DedupKey] = "resolved"
		}
	}
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "success",
		"message": "Event processed", "dedup_key": e.DedupKey})
}

// check is what the Events API requires of an event.
func check(e *Event) string {
	switch {
	case e.RoutingKey != routingKey:
		return "Invalid routing key"
	case e.EventAction != ActionTrigger && e.EventAction != ActionResolve &&
		e.EventAction != "acknowledge":
		return "Invalid event_action"
	case e.DedupKey == "" || len(e.DedupKey) > 255:
		return "Invalid dedup_key"
	case e.EventAction == ActionTrigger && (e.Payload.Summary == "" ||
		len(e.Payload.Summary) > 1024 || e.Payload.Source == ""):
		return "Invalid payload"
	}
	switch e.Payload.Severity {
	case "critical", "error", "warning", "info":
	default:
		return "Invalid severity"
	}
	if _, err := time.Parse(time.RFC3339, e.Payload.Timestamp); err != nil {
		return "Invalid timestamp"
	}
	return ""
}

func invalid(w http.ResponseWriter, msg string) {
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "invalid event",
		"message": "Event object is invalid", "errors": []string{msg}})
}

func (s *service) delivered() []alerting.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []alerting.Alert
	for _, e := range s.events {
		for _, a := range e.Payload.CustomDetails.Alerts {
			a.Incident = e.Payload.CustomDetails.Incident
			out = append(out, a)
		}
	}
	return out
}

func (s *service) refuse(transient bool, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refusals = append(s.refusals, func(w http.ResponseWriter) {
		switch {
		case transient && retryAfter > 0:
			w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter.Seconds())))
			http.Error(w, `{"status":"throttle event"}`, http.StatusTooManyRequests)
		case transient:
			http.Error(w, "upstream error", http.StatusBadGateway)
		default:
			invalid(w, "Invalid routing key "+routingKey)
		}
	})
}

func start(t *testing.T) (*service, *Sink, *httptest.Server) {
	t.Helper()
	svc := &service{incidents: map[string]string{}}
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	s, err := New(Config{RoutingKey: routingKey, URL: srv.URL + "/v2/enqueue"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return svc, s, srv
}

func TestSinkSuite(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		svc, s, srv := start(t)
		return sinktest.Harness{Sink: s, Delivered: svc.delivered, Refuse: svc.refuse,
			RetryAfter: true, Down: srv.Close, Secrets: []string{routingKey}}
	})
}

// TestIncidentLifecycle: updates of one flowwatch incident trigger one PagerDuty incident;
// the retraction of every alert by a reorg resolves it; another incident is another.
func TestIncidentLifecycle(t *testing.T) {
	svc, s, _ := start(t)
	ctx := context.Background()
	as := sinktest.Alerts(2)
	opened := *as[0].Incident
	updated := opened
	updated.Seq, updated.Reason = 2, alerting.ReasonUpdated
	retracted := opened
	retracted.Seq, retracted.Reason, retracted.Status = 3, alerting.ReasonRetracted,
		alerting.StatusRetracted
	other := opened
	other.ID = "ffff0000ffff0000ffff"
	notify := func(in alerting.Incident, state alerting.State) {
		t.Helper()
		a := as[0]
		a.Incident, a.State = &in, state
		if _, err := s.Notify(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	notify(opened, alerting.StateConfirmed)
	notify(updated, alerting.StateConfirmed)
	notify(other, alerting.StateConfirmed)
	if len(svc.incidents) != 2 || svc.incidents[opened.ID] != "triggered" {
		t.Fatalf("incidents %v", svc.incidents)
	}
	notify(retracted, alerting.StateRetracted)
	if svc.incidents[opened.ID] != "resolved" || svc.incidents[other.ID] != "triggered" {
		t.Fatalf("after the retraction: %v", svc.incidents)
	}
	last := svc.events[len(svc.events)-1]
	if last.EventAction != ActionResolve || last.DedupKey != opened.ID {
		t.Fatalf("last event %+v", last)
	}
	first := svc.events[0]
	if first.Payload.Severity != "error" || first.Payload.Class != "r" ||
		!strings.Contains(first.Payload.Summary, "Lazarus Group → Binance") ||
		len(first.Links) != 1 || !strings.Contains(first.Links[0].Href, as[0].Tx) {
		t.Fatalf("first event %+v", first)
	}
}

func TestConfig(t *testing.T) {
	for _, tt := range []struct {
		give    Config
		wantErr string
	}{
		{Config{RoutingKey: routingKey}, ""},
		{Config{}, "routing_key: empty"},
		{Config{RoutingKey: "short"}, "routing_key: 5 characters"},
		{Config{RoutingKey: routingKey, URL: "events.pagerduty.com"}, "url:"},
	} {
		_, err := New(tt.give, nil)
		if (err == nil) != (tt.wantErr == "") || err != nil &&
			(!strings.Contains(err.Error(), tt.wantErr) ||
				strings.Contains(err.Error(), routingKey)) {
			t.Errorf("%+v: %v, want %q", tt.give, err, tt.wantErr)
		}
	}
}
