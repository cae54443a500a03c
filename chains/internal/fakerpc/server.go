package fakerpc

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// Error is a JSON-RPC error object.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// MethodNotFound is the error a node gives for a method it does not have.
func MethodNotFound(method string) *Error {
	return &Error{Code: -32601, Message: "the method " + method + " does not exist/is not available"}
}

// Handler answers one call: a result (marshalled to JSON; a json.RawMessage is sent as it
// is) or an error.
type Handler func(method string, params []json.RawMessage) (any, *Error)

// Fault handles one HTTP request in place of the normal answer; body is the normal answer,
// already encoded. It is used once, for the next request that arrives.
type Fault func(w http.ResponseWriter, r *http.Request, body []byte)

// Server is a JSON-RPC server over httptest.
type Server struct {
	URL string

	handler  Handler
	mu       sync.Mutex
	faults   []Fault
	requests atomic.Int64
	calls    sync.Map // method -> *atomic.Int64
	// maxBatch, when not 0, refuses batches of more calls with HTTP 413, as providers do.
	maxBatch atomic.Int64
	refused  atomic.Int64
}

// LimitBatch makes the server refuse batches of more than n calls with HTTP 413 and a
// message naming the limit (0: no limit).
func (s *Server) LimitBatch(n int) { s.maxBatch.Store(int64(n)) }

// Refused returns how many batches the limit refused.
func (s *Server) Refused() int64 { return s.refused.Load() }

// New starts a server that answers with h; it is closed when the test ends.
func New(t testing.TB, h Handler) *Server {
	s := &Server{handler: h}
	ts := httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(ts.Close)
	s.URL = ts.URL
	return s
}

// Inject queues faults; each is used for one of the next requests, in order.
func (s *Server) Inject(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, faults...)
}

// Requests returns how many HTTP requests the server has received.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Calls returns how many times method was called (inside batches too).
func (s *Server) Calls(method string) int64 {
	if v, ok := s.calls.Load(method); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

type request struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var out []byte
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] == '[' {
		var reqs []request
		if err := json.Unmarshal(trimmed, &reqs); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if limit := s.maxBatch.Load(); limit > 0 && int64(len(reqs)) > limit {
			s.refused.Add(1)
			http.Error(w, "batch too large: at most "+strconv.FormatInt(limit, 10)+
				" calls per batch", http.StatusRequestEntityTooLarge)
			return
		}
		resps := make([]response, len(reqs))
		for i, q := range reqs {
			resps[i] = s.answer(q)
		}
		out, err = json.Marshal(resps)
	} else {
		var q request
		if err := json.Unmarshal(trimmed, &q); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out, err = json.Marshal(s.answer(q))
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if f := s.nextFault(); f != nil {
		f(w, r, out)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

func (s *Server) answer(q request) response {
	v, _ := s.calls.LoadOrStore(q.Method, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	res, rpcErr := s.handler(q.Method, q.Params)
	if rpcErr == nil && res == nil {
		res = json.RawMessage("null")
	}
	return response{JSONRPC: "2.0", ID: q.ID, Result: res, Error: rpcErr}
}

func (s *Server) nextFault() Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return nil
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	return f
}
