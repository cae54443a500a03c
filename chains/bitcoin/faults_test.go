package bitcoin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/chains/bitcoin/bitcointest"
)

// faultyNode puts faults a real node cannot show on demand in front of the recorded one:
// the first calls of a method answer with a status or a body of its choosing, or hang.
type faultyNode struct {
	next   http.Handler
	method string
	status int
	body   string
	times  int
	hang   bool

	mu   *sync.Mutex
	seen *int
}

func (f *faultyNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := make([]byte, r.ContentLength)
	_, _ = r.Body.Read(body)
	r.Body.Close()
	f.mu.Lock()
	hit := strings.Contains(string(body), `"method":"`+f.method+`"`) && *f.seen < f.times
	if hit {
		*f.seen++
	}
	f.mu.Unlock()
	switch {
	case hit && f.hang:
		<-r.Context().Done()
	case hit:
		w.WriteHeader(f.status)
		_, _ = w.Write([]byte(f.body))
	default:
		r.Body = readCloser{strings.NewReader(string(body))}
		f.next.ServeHTTP(w, r)
	}
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

func TestSourceFaults(t *testing.T) {
	tests := []struct {
		name    string
		fault   faultyNode
		timeout time.Duration
		wantErr string // "" : the block comes through
	}{
		{"429 twice then served", faultyNode{method: "getblock", status: 429,
			body: "Too Many Requests", times: 2}, 0, ""},
		{"503 then served", faultyNode{method: "getrawtransaction", status: 503,
			body: "busy", times: 1}, 0, ""},
		{"truncated JSON names the block", faultyNode{method: "getblock", status: 200,
			body: `{"result":{"hash":"00`, times: 100}, 0, "getblock 50001"},
		{"a garbage block names the block", faultyNode{method: "getblock", status: 200,
			body: `{"result":{"hash":"x"},"error":null,"id":1}`, times: 100}, 0,
			"block 50001"},
		{"a hang ends with the context", faultyNode{method: "getblock", hang: true,
			times: 100}, 300 * time.Millisecond, "deadline exceeded"},
		{"403 is not retried", faultyNode{method: "getblock", status: 403,
			body: "Forbidden", times: 1}, 0, "403"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, _ := bitcointest.NewNode(t, repoRoot)
			fault := tt.fault
			fault.next, fault.mu, fault.seen = rec, &sync.Mutex{}, new(int)
			srv := httptest.NewServer(&fault)
			t.Cleanup(srv.Close)
			ctx := context.Background()
			src, err := Dial(ctx, "http://u:p@"+strings.TrimPrefix(srv.URL, "http://"),
				Options{OutputCache: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			b, err := src.Block(ctx, 50001)
			if tt.wantErr == "" {
				if err != nil || len(b.Movements) != 3 {
					t.Fatalf("got %v; want the block through the faults", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v; want an error with %q", err, tt.wantErr)
			}
		})
	}
}
