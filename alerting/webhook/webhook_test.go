package webhook

import (
	"context"
	"errors"
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

const secret = "s3cret-shared-with-the-receiver"

// Receiver is a real HTTP endpoint that verifies each request as the README tells
// receivers to, answers with the statuses queued by Refuse (then 200), and keeps what it
// accepted.
type Receiver struct {
	mu       sync.Mutex
	refusals []refusal
	accepted []Payload
	requests int
	bad      []string
}

type refusal struct {
	status     int
	retryAfter string
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	p, err := Receive(req, []byte(secret), time.Now(), 5*time.Minute)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if errors.Is(err, ErrUnverified) {
		r.bad = append(r.bad, err.Error())
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if len(r.refusals) > 0 {
		f := r.refusals[0]
		r.refusals = r.refusals[1:]
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		http.Error(w, http.StatusText(f.status)+" token=topsecret", f.status)
		return
	}
	if err != nil || p.Version != PayloadVersion || p.Key != req.Header.Get(HeaderIdempotency) {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	r.accepted = append(r.accepted, p)
}

func (r *Receiver) delivered() []alerting.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []alerting.Alert
	for _, p := range r.accepted {
		out = append(out, p.AlertsWithIncident()...)
	}
	return out
}

func (r *Receiver) keys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, p := range r.accepted {
		out = append(out, p.Key)
	}
	return out
}

func (r *Receiver) refuse(transient bool, retryAfter time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := refusal{status: http.StatusBadRequest}
	switch {
	case transient && retryAfter > 0:
		f = refusal{http.StatusTooManyRequests, strconv.Itoa(int(retryAfter.Seconds()))}
	case transient:
		f.status = http.StatusServiceUnavailable
	}
	r.refusals = append(r.refusals, f)
}

func start(t *testing.T) (*Receiver, *Sink, *httptest.Server) {
	t.Helper()
	r := &Receiver{}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	s, err := New(Config{URL: srv.URL + "/hook?token=topsecret", Secret: secret,
		Timeout: 5 * time.Second}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r, s, srv
}

func TestSinkSuite(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		r, s, srv := start(t)
		return sinktest.Harness{Sink: s, Delivered: r.delivered, Keys: r.keys,
			Refuse: r.refuse, RetryAfter: true, Down: srv.Close,
			Secrets: []string{secret, "topsecret"}}
	})
}

// TestOneRequestPerNotification: the alerts of a notification go in one signed request,
// their incident once.
func TestOneRequestPerNotification(t *testing.T) {
	r, s, _ := start(t)
	as := sinktest.Alerts(5)
	if _, err := s.Notify(context.Background(), as...); err != nil {
		t.Fatal(err)
	}
	if r.requests != 1 || len(r.accepted) != 1 || len(r.accepted[0].Alerts) != 5 ||
		r.accepted[0].Incident == nil || r.accepted[0].Alerts[0].Incident != nil {
		t.Fatalf("%d requests, accepted %+v", r.requests, r.accepted)
	}
	if r.accepted[0].Key != as[0].Incident.ID+":1" {
		t.Fatalf("key %q", r.accepted[0].Key)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1700000000, 0)
	body := []byte(`{"id":"x"}`)
	ts := "1700000000"
	sig := Sign([]byte(secret), ts, body)
	tests := []struct {
		name    string
		ts, sig string
		body    string
		wantErr string
	}{
		{"valid", ts, sig, string(body), ""},
		{"edited body", ts, sig, `{"id":"y"}`, "bad signature"},
		{"other secret", ts, Sign([]byte("x"), ts, body), string(body), "bad signature"},
		{"replayed later", "1699990000", Sign([]byte(secret), "1699990000", body),
			string(body), "from now"},
		{"bad timestamp", "yesterday", sig, string(body), "bad timestamp"},
	}
	for _, tt := range tests {
		err := Verify([]byte(secret), tt.ts, tt.sig, []byte(tt.body), now, 5*time.Minute)
		if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(),
			tt.wantErr)) {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestReceive(t *testing.T) {
	now := time.Unix(1700000000, 0)
	ts := "1700000000"
	body := `{"version":2,"key":"i:1","alerts":[{"rule":"r"}]}`
	request := func(ts, sig, body string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set(HeaderTimestamp, ts)
		r.Header.Set(HeaderSignature, sig)
		return r
	}
	sign := func(ts, body string) string { return Sign([]byte(secret), ts, []byte(body)) }
	tests := []struct {
		name       string
		give       *http.Request
		wantKey    string
		wantStatus int // of ErrorStatus; 0: no error
		wantErr    string
	}{
		{"genuine", request(ts, sign(ts, body), body), "i:1", 0, ""},
		{"forged", request(ts, sign(ts, "{}"), body), "", http.StatusUnauthorized,
			"bad signature"},
		{"stale", request("1699990000", sign("1699990000", body), body), "",
			http.StatusUnauthorized, "from now"},
		{"signed, not JSON", request(ts, sign(ts, "{"), "{"), "", http.StatusBadRequest,
			"decode payload"},
	}
	for _, tt := range tests {
		p, err := Receive(tt.give, []byte(secret), now, 5*time.Minute)
		switch {
		case tt.wantErr == "" && (err != nil || p.Key != tt.wantKey || len(p.Alerts) != 1 ||
			p.Alerts[0].Rule != "r"):
			t.Errorf("%s: %+v, %v; want key %s and one alert of rule r", tt.name, p, err,
				tt.wantKey)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) ||
			ErrorStatus(err) != tt.wantStatus):
			t.Errorf("%s: %v (status %d), want %q (%d)", tt.name, err, ErrorStatus(err),
				tt.wantErr, tt.wantStatus)
		}
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		give    Config
		wantErr string
	}{
		{"valid", Config{URL: "https://x.example/h", Secret: "s"}, ""},
		{"not http", Config{URL: "ftp://x", Secret: "s"}, "url:"},
		{"no host", Config{URL: "https://", Secret: "s"}, "url:"},
		{"no secret", Config{URL: "https://x.example/h"}, "secret: empty"},
		{"negative timeout", Config{URL: "https://x.example/h", Secret: "s", Timeout: -1},
			"timeout"},
	}
	for _, tt := range tests {
		_, err := New(tt.give, nil, nil)
		if (err == nil) != (tt.wantErr == "") || err != nil &&
			!strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

// FuzzVerify: a receiver's check of what it is sent never crashes, accepts no signature
// but the secret's of that very timestamp and body, nor a timestamp out of the age
// allowed, and accepts every genuine notification, whatever its body.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1700000000, 0)
	body := `{"id":"x"}`
	f.Add("1700000000", Sign([]byte(secret), "1700000000", []byte(body)), body)
	f.Add("1699990000", Sign([]byte(secret), "1699990000", []byte(body)), body)
	f.Add("+1700000000", Sign([]byte(secret), "+1700000000", []byte(body)), body)
	f.Add("-9223372036854775808", "sha256=00", body)
	f.Add("yesterday", "", "")
	f.Fuzz(func(t *testing.T, ts, sig, body string) {
		const maxAge = 5 * time.Minute
		if err := Verify([]byte(secret), ts, sig, []byte(body), now, maxAge); err == nil {
			if sig != Sign([]byte(secret), ts, []byte(body)) {
				t.Fatalf("accepted a forged signature %q of %q at %q", sig, body, ts)
			}
			sec, err := strconv.ParseInt(ts, 10, 64)
			if d := now.Sub(time.Unix(sec, 0)).Abs(); err != nil || d > maxAge {
				t.Fatalf("accepted the timestamp %q, %v from now", ts, d)
			}
		}
		genuine := strconv.FormatInt(now.Unix(), 10)
		err := Verify([]byte(secret), genuine, Sign([]byte(secret), genuine, []byte(body)),
			[]byte(body), now, maxAge)
		if err != nil {
			t.Fatalf("refused a genuine notification of %q: %v", body, err)
		}
	})
}

// FuzzReceive: a receiver's reading of what it is sent never crashes; a body signed with
// the secret is never refused as unverified (only, if it is not a Payload, as undecodable),
// and one signed otherwise always is.
func FuzzReceive(f *testing.F) {
	now := time.Unix(1700000000, 0)
	f.Add(`{"version":2,"key":"i:1","alerts":[{"rule":"r"}]}`)
	f.Add(`{"alerts":[{"amount":"x"}]}`)
	f.Add("{")
	f.Fuzz(func(t *testing.T, body string) {
		ts := strconv.FormatInt(now.Unix(), 10)
		for _, key := range []string{secret, "another"} {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			r.Header.Set(HeaderTimestamp, ts)
			r.Header.Set(HeaderSignature, Sign([]byte(key), ts, []byte(body)))
			_, err := Receive(r, []byte(secret), now, 5*time.Minute)
			if unverified := errors.Is(err, ErrUnverified); unverified != (key != secret) {
				t.Fatalf("signed with %q: %v", key, err)
			}
		}
	})
}
