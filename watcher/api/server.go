package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/watcher/deposit"
)

// OpenAPI is the API's OpenAPI 3 document, served at /v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Defaults for Options.
const (
	DefaultMaxBody     = 1 << 20 // bytes
	DefaultMaxBatch    = 1000    // addresses per POST /v1/screen
	DefaultMaxRegister = 10000   // addresses per bulk registration
)

// Options configure a Server.
type Options struct {
	Keys        []Key
	MaxBody     int64
	MaxBatch    int
	MaxRegister int
	// Deposits screens deposits (POST /v1/deposits); nil: the route answers 501.
	Deposits *Deposits
	// Metrics is the registry /metrics serves, where the server adds its own; nil: a new
	// one, with the Go and process collectors (a given one has them already).
	Metrics *prometheus.Registry
	// Ready says whether the service can answer (lists loaded, Redis reachable, chains
	// within lag); nil: always.
	Ready  func(ctx context.Context) error
	Logger *zap.Logger
	Now    func() time.Time
}

func (o *Options) setDefaults() {
	if o.MaxBody == 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.MaxRegister == 0 {
		o.MaxRegister = DefaultMaxRegister
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Ready == nil {
		o.Ready = func(context.Context) error { return nil }
	}
}

// Server is the screening API (see the package documentation). Safe for concurrent use.
type Server struct {
	screen   *Screener
	registry *deposit.Registry // nil: no registration endpoints
	keys     *keyring
	opts     Options
	log      *zap.Logger
	mux      *http.ServeMux
	metrics  *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// New returns a server answering from screen; registry, if not nil, takes registrations.
func New(screen *Screener, registry *deposit.Registry, opts Options) (*Server, error) {
	opts.setDefaults()
	kr, err := newKeyring(opts.Keys)
	if err != nil {
		return nil, err
	}
	s := &Server{screen: screen, registry: registry, keys: kr, opts: opts, log: opts.Logger,
		mux: http.NewServeMux(), metrics: opts.Metrics}
	if s.metrics == nil {
		s.metrics = prometheus.NewRegistry()
		s.metrics.MustRegister(prometheus.NewGoCollector(),
			prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flowwatch_api_requests_total", Help: "API requests by route and status code."},
		[]string{"route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "flowwatch_api_request_seconds", Help: "API request latency by route.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}, []string{"route"})
	s.metrics.MustRegister(s.requests, s.latency)
	s.routes()
	return s, nil
}

// Metrics is the registry /metrics serves, for the caller to add to.
func (s *Server) Metrics() *prometheus.Registry { return s.metrics }

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) routes() {
	open := func(pattern string, h http.HandlerFunc) {
		s.mux.Handle(pattern, s.observe(pattern, h))
	}
	guarded := func(pattern, scope string, h http.HandlerFunc) {
		s.mux.Handle(pattern, s.observe(pattern, s.guard(scope, h)))
	}
	open("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	open("GET /readyz", s.ready)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{}))
	open("GET /v1/openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(OpenAPI)
	})
	guarded("GET /v1/addresses/{chain}/{address}", ScopeRead, s.address)
	guarded("POST /v1/screen", ScopeRead, s.screenMany)
	guarded("POST /v1/deposits", ScopeRead, s.deposit)
	if s.registry != nil {
		const one = "/v1/watched-deposit-addresses/{chain}/{address}"
		guarded("GET "+one, ScopeRead, s.getRegistration)
		guarded("PUT "+one, ScopeWrite, s.putRegistration)
		guarded("DELETE "+one, ScopeWrite, s.deleteRegistration)
		guarded("POST /v1/watched-deposit-addresses", ScopeWrite, s.importRegistrations)
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "", fmt.Sprintf("no route %s %s (see "+
			"/v1/openapi.yaml)", r.Method, r.URL.Path))
	})
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// observe counts and times requests by route, and logs them (never their keys).
func (s *Server) observe(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		d := time.Since(start)
		s.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
		s.latency.WithLabelValues(route).Observe(d.Seconds())
		if sw.code >= 500 {
			s.log.Warn("api request failed", zap.String("route", route),
				zap.Int("code", sw.code), zap.Duration("took", d))
		}
	})
}

// guard admits requests with a key that has scope, within the key's rate limit, and
// bounds their body.
func (s *Server) guard(scope string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := s.keys.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="flowwatch"`)
			writeError(w, http.StatusUnauthorized, "", err.Error())
			return
		}
		if !s.keys.allows(i, scope) {
			writeError(w, http.StatusForbidden, "", fmt.Sprintf("API key %q may not %s "+
				"(its scopes: %v)", s.keys.keys[i].Name, scope, s.keys.keys[i].Scopes))
			return
		}
		if ok, wait := s.keys.admit(i); !ok {
			w.Header().Set("Retry-After", wait)
			writeError(w, http.StatusTooManyRequests, "", fmt.Sprintf("API key %q is over "+
				"its rate limit; try again in %s s", s.keys.keys[i].Name, wait))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBody)
		h(w, r)
	})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if err := s.opts.Ready(r.Context()); err != nil {
		writeError(w, http.StatusServiceUnavailable, "", "not ready: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) address(w http.ResponseWriter, r *http.Request) {
	rep, err := s.screen.ScreenOne(r.Context(), r.PathValue("chain"), r.PathValue("address"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, &rep)
}

// ScreenRequest is POST /v1/screen's body.
type ScreenRequest struct {
	Chain     string   `json:"chain"`
	Addresses []string `json:"addresses"`
}

func (s *Server) screenMany(w http.ResponseWriter, r *http.Request) {
	var req ScreenRequest
	if !s.decode(w, r, &req) {
		return
	}
	if !batchSize(w, len(req.Addresses), s.opts.MaxBatch) {
		return
	}
	rs, err := s.screen.Screen(r.Context(), req.Chain, req.Addresses...)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": rs})
}

// batchSize checks a request's count of addresses, answering 400 itself when it is 0 or
// over most.
func batchSize(w http.ResponseWriter, n, most int) bool {
	switch {
	case n == 0:
		writeError(w, http.StatusBadRequest, "addresses", "empty")
		return false
	case n > most:
		writeError(w, http.StatusBadRequest, "addresses", fmt.Sprintf("%d addresses, at "+
			"most %d per request", n, most))
		return false
	}
	return true
}

// decode reads a JSON body strictly into v, answering 400 or 413 itself when it cannot.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("body over %d bytes",
			tooBig.Limit))
		return false
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "", "empty body: want a JSON object")
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, "", "body: "+err.Error())
		return false
	}
	return true
}

// fail answers err: a FieldError is the request's (400), a StatusError says its status,
// anything else is the service's (503).
func (s *Server) fail(w http.ResponseWriter, err error) {
	var fe *FieldError
	if errors.As(err, &fe) {
		writeError(w, http.StatusBadRequest, fe.Field, fe.Msg)
		return
	}
	var se *StatusError
	if errors.As(err, &se) {
		writeError(w, se.Code, "", se.Msg)
		return
	}
	s.log.Warn("api", zap.Error(err))
	writeError(w, http.StatusServiceUnavailable, "", "the service failed to answer: "+
		err.Error())
}

// ErrorBody is the body of every 4xx and 5xx answer.
type ErrorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"` // the request's field at fault
}

func writeError(w http.ResponseWriter, code int, field, msg string) {
	if field != "" {
		msg = field + ": " + msg
	}
	writeJSON(w, code, ErrorBody{Error: msg, Field: field})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
