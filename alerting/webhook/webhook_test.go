package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/sinktest"
)

var secret = []byte("s3cret-shared-with-the-receiver")

// receiver is a real HTTP endpoint that verifies each request as the README tells
// receivers to, answers with the queued statuses (then 200), and keeps what it accepted.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	accepted []alerting.Alert
	keys     []string
	requests int
	bad      []string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if err := Verify(secret, req.Header.Get(HeaderTimestamp), req.Header.Get(HeaderSignature),
		body, time.Now(), 5*time.Minute); err != nil {
		r.bad = append(r.bad, err.Error())
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if len(r.statuses) > 0 {
		code := r.statuses[0]
		r.statuses = r.statuses[1:]
		if code != http.StatusOK {
			http.Error(w, http.StatusText(code), code)
			return
		}
	}
	var a alerting.Alert
	if err := json.Unmarshal(body, &a); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.accepted = append(r.accepted, a)
	r.keys = append(r.keys, req.Header.Get(HeaderIdempotency))
}

func (r *receiver) delivered() []alerting.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]alerting.Alert(nil), r.accepted...)
}

func start(t *testing.T, statuses ...int) (*receiver, *Sink, string) {
	t.Helper()
	r := &receiver{statuses: statuses}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	s, err := New(srv.URL+"/hook?token=abc", secret, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r, s, srv.URL
}

func TestSinkSuite(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		r, s, _ := start(t)
		return sinktest.Harness{Sink: s, Delivered: r.delivered}
	})
}

// TestRetryThroughOutage: a receiver answering 503 twice, then 200, gets the alert exactly
// once, with the idempotency key of the alert's state.
func TestRetryThroughOutage(t *testing.T) {
	r, s, _ := start(t, http.StatusServiceUnavailable, http.StatusServiceUnavailable)
	stage := &alerting.Retry{Name: "webhook", Notifier: s, Min: time.Millisecond,
		Max: 2 * time.Millisecond}
	a := sinktest.Alerts(1)
	if _, err := stage.Exec(context.Background(), a...); err != nil {
		t.Fatal(err)
	}
	if len(r.accepted) != 1 || r.requests != 3 {
		t.Fatalf("accepted %d after %d requests, want 1 after 3", len(r.accepted), r.requests)
	}
	if r.keys[0] != a[0].DedupKey() || !strings.HasPrefix(r.keys[0], a[0].ID+":confirmed") {
		t.Fatalf("idempotency key %q", r.keys[0])
	}
}

func TestRefusalsAndSecrets(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		wantRetry bool
	}{
		{"400 is final", http.StatusBadRequest, false},
		{"404 is final", http.StatusNotFound, false},
		{"429 is retried", http.StatusTooManyRequests, true},
		{"502 is retried", http.StatusBadGateway, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, s, _ := start(t, tt.status)
			retry, err := s.Notify(context.Background(), sinktest.Alerts(1)...)
			if err == nil || retry != tt.wantRetry {
				t.Fatalf("retry %v, err %v; want retry %v and an error", retry, err,
					tt.wantRetry)
			}
		})
	}
	t.Run("unreachable: retried, URL and token not in the error", func(t *testing.T) {
		_, _, url := start(t)
		s, err := New(url+"/x?token=topsecret", secret, &http.Client{Timeout: time.Second}, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.url = "http://127.0.0.1:1/x?token=topsecret"
		retry, err := s.Notify(context.Background(), sinktest.Alerts(1)...)
		if err == nil || !retry || strings.Contains(err.Error(), "topsecret") ||
			strings.Contains(err.Error(), string(secret)) {
			t.Fatalf("retry %v, err %v", retry, err)
		}
	})
}

func TestVerify(t *testing.T) {
	now := time.Unix(1700000000, 0)
	body := []byte(`{"id":"x"}`)
	ts := "1700000000"
	sig := Sign(secret, ts, body)
	tests := []struct {
		name    string
		ts, sig string
		body    string
		wantErr string
	}{
		{"valid", ts, sig, string(body), ""},
		{"edited body", ts, sig, `{"id":"y"}`, "bad signature"},
		{"other secret", ts, Sign([]byte("x"), ts, body), string(body), "bad signature"},
		{"replayed later", "1699990000", Sign(secret, "1699990000", body), string(body),
			"from now"},
		{"bad timestamp", "yesterday", sig, string(body), "bad timestamp"},
	}
	for _, tt := range tests {
		err := Verify(secret, tt.ts, tt.sig, []byte(tt.body), now, 5*time.Minute)
		if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(),
			tt.wantErr)) {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New("ftp://x", secret, nil, nil); err == nil {
		t.Error("want an error for a non-http url")
	}
	if _, err := New("https://x", nil, nil, nil); err == nil {
		t.Error("want an error for an empty secret")
	}
}
