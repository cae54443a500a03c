package slack

import (
	"context"
	"encoding/json"
	"fmt"
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

const token = "T0FLOWW/B0TEST/x8fSecretTokenZ"

// workspace is an incoming webhook as Slack serves it: POST /services/<token> with a JSON
// message of text and valid blocks, answered "ok"; or a refusal queued by refuse.
type workspace struct {
	mu       sync.Mutex
	messages []Message
	refusals []func(w http.ResponseWriter)
}

func (s *workspace) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path != "/services/"+token {
		http.Error(w, "no_service", http.StatusNotFound)
		return
	}
	if len(s.refusals) > 0 {
		s.refusals[0](w)
		s.refusals = s.refusals[1:]
		return
	}
	var m Message
	if err := json.Unmarshal(body, &m); err != nil || m.Text == "" || len(m.Blocks) == 0 ||
		len(m.Blocks) > 50 || !validBlocks(m.Blocks) {
		http.Error(w, "invalid_blocks", http.StatusBadRequest)
		return
	}
	s.messages = append(s.messages, m)
	_, _ = io.WriteString(w, "ok")
}

// validBlocks checks what Slack checks of the blocks this sink uses.
func validBlocks(bs []Block) bool {
	for _, b := range bs {
		switch b.Type {
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" || len([]rune(b.Text.Text)) > 150 {
				return false
			}
		case "section":
			if b.Text == nil && len(b.Fields) == 0 || len(b.Fields) > 10 {
				return false
			}
		case "context":
			if len(b.Elements) == 0 || len(b.Elements) > 10 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func (s *workspace) texts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.messages {
		var parts []string
		for _, b := range m.Blocks {
			if b.Text != nil {
				parts = append(parts, b.Text.Text)
			}
			for _, f := range append(b.Fields, b.Elements...) {
				parts = append(parts, f.Text)
			}
		}
		out = append(out, strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").
			Replace(strings.Join(parts, "\n")))
	}
	return out
}

func (s *workspace) refuse(transient bool, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refusals = append(s.refusals, func(w http.ResponseWriter) {
		switch {
		case transient && retryAfter > 0:
			w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter.Seconds())))
			http.Error(w, "rate_limited", http.StatusTooManyRequests)
		case transient:
			http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		default:
			http.Error(w, "invalid_token for /services/"+token, http.StatusForbidden)
		}
	})
}

func start(t *testing.T) (*workspace, *Sink, *httptest.Server) {
	t.Helper()
	ws := &workspace{}
	srv := httptest.NewServer(ws)
	t.Cleanup(srv.Close)
	s, err := New(Config{URL: srv.URL + "/services/" + token}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ws, s, srv
}

func TestSinkSuite(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		ws, s, srv := start(t)
		return sinktest.Harness{Sink: s, Texts: ws.texts, Refuse: ws.refuse,
			RetryAfter: true, Down: srv.Close, Secrets: []string{token, "x8fSecretTokenZ"}}
	})
}

// TestMessage: what a compliance officer reads: severity, rule and reason in the header,
// the parties, the totals in coins, each alert with its explorer link, the incident.
func TestMessage(t *testing.T) {
	ws, s, _ := start(t)
	as := sinktest.Alerts(12)
	as[0].Incident.Severity, as[0].Incident.Reason = "critical", alerting.ReasonEscalated
	if _, err := s.Notify(context.Background(), as...); err != nil {
		t.Fatal(err)
	}
	m := ws.messages[0]
	text := ws.texts()[0]
	for _, want := range []string{
		"CRITICAL · r · incident escalated: Lazarus Group → Binance, exchange",
		"12 ETH", "Binance, exchange (0x2)", "12 in force, 0 retracted, up to 1 hop(s)",
		"<https://etherscan.io/tx/" + as[0].Tx + "|" + as[0].Tx + ">",
		"CONFIRMED: 1 ETH in tx", "…and 2 more alert(s)", "incident 00aa11bb22cc33dd44ee",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("message lacks %q:\n%s", want, text)
		}
	}
	if !strings.HasPrefix(m.Text, ":rotating_light:") {
		t.Errorf("fallback text %q", m.Text)
	}
	if n := strings.Count(text, "CONFIRMED:"); n != MaxAlertsShown {
		t.Errorf("%d alerts listed, want %d", n, MaxAlertsShown)
	}
}

func TestConfig(t *testing.T) {
	for _, tt := range []struct {
		give    Config
		wantErr string
	}{
		{Config{URL: "https://hooks.slack.com/services/" + token}, ""},
		{Config{URL: "hooks.slack.com"}, "url:"},
		{Config{URL: "https://hooks.slack.com/x", Timeout: -1}, "timeout"},
	} {
		_, err := New(tt.give, nil)
		if got := fmt.Sprint(err); (err == nil) != (tt.wantErr == "") ||
			!strings.Contains(got, tt.wantErr) || strings.Contains(got, token) {
			t.Errorf("%+v: %v, want %q", tt.give, err, tt.wantErr)
		}
	}
}
