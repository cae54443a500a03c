package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

const (
	readKey  = "fw_read_0123456789abcdef"
	writeKey = "fw_write_0123456789abcdef"
	slowKey  = "fw_slow_0123456789abcdef"
)

// Addresses of the tests' world.
const (
	lazarus   = "0x098b716b8aaf21512996dc57eb0615e2383e2f96" // Ronin hack, OFAC-listed
	tornado   = "0x8589427373d6d84e98730d7795d8f6f8731fda16"
	twoHops   = "0x1111111111111111111111111111111111111111"
	fourHops  = "0x2222222222222222222222222222222222222222"
	diluted   = "0x3333333333333333333333333333333333333333"
	payer     = "0x4444444444444444444444444444444444444444"
	clean     = "0x5555555555555555555555555555555555555555"
	depositTo = "0x6666666666666666666666666666666666666666"
)

var now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// world is the API over real Redis: lists, taint a pipeline would have written, a
// registry; and a client that checks every answer against openapi.yaml.
type world struct {
	srv    *httptest.Server
	router routers.Router
	reg    *deposit.Registry
	lists  *watchlist.Lists
	store  *taint.Redis
	screen *Screener
}

func newWorld(t *testing.T) *world { return newWorldWith(t, nil, nil) }

// newWorldWith is newWorld screening deposits on the nodes given (none: no deposit
// screening), with alerts from alerts; edits, if any, change the server's options.
func newWorldWith(t testing.TB, nodes map[string]Node, alerts AlertFinder,
	edits ...func(*Options)) *world {
	t.Helper()
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	lists := watchlist.New()
	lists.Add(watchlist.Entry{Chain: "ethereum", Address: lazarus, Role: watchlist.RoleSource,
		Category: "sanctioned", Entity: "Lazarus Group",
		ValidFrom: time.Date(2022, 4, 14, 0, 0, 0, 0, time.UTC),
		Origin:    watchlist.Origin{List: "OFAC SDN"}},
		watchlist.Entry{Chain: "ethereum", Address: tornado, Role: watchlist.RoleSource,
			Category: "sanctioned", Entity: "Tornado Cash",
			ValidFrom: time.Date(2022, 8, 8, 0, 0, 0, 0, time.UTC),
			ValidTo:   time.Date(2025, 3, 21, 0, 0, 0, 0, time.UTC),
			Origin:    watchlist.Origin{List: "OFAC SDN"}},
		watchlist.Entry{Chain: "ethereum", Address: tornado, Role: watchlist.RoleLabel,
			Category: "mixer", Entity: "Tornado Cash 100 ETH"})
	store := taint.NewRedis(rdb, prefix)
	src := rules.Source{Entity: "Lazarus Group", Category: "sanctioned", List: "OFAC SDN"}
	hop := func(tx, from, to string, amount int64) rules.Hop {
		return rules.Hop{Chain: "ethereum", Tx: tx, Position: "tx", From: from, To: to,
			Asset: "native", Amount: big.NewInt(amount), Time: now.Add(-time.Hour)}
	}
	path := []rules.Hop{hop("0xa1", lazarus, payer, 100), hop("0xa2", payer, twoHops, 40)}
	long := append(path[:2:2], hop("0xa3", twoHops, diluted, 30),
		hop("0xa4", diluted, fourHops, 20))
	err := store.ApplyAll(ctx, "ethereum", taint.Fence{}, []taint.Effect{{Key: "m1",
		Taints: []rules.NewTaint{
			{Address: twoHops, Taint: rules.Taint{Root: lazarus, Source: src, Path: path}},
			{Address: fourHops, Taint: rules.Taint{Root: lazarus, Source: src, Path: long}},
			{Address: "h/" + diluted, Taint: rules.Taint{Root: lazarus, Source: src,
				Path: long[:3], Holdings: []rules.Holding{{Asset: "native",
					Balance: big.NewInt(100000), Tainted: big.NewInt(30)}}}},
			{Address: rules.PatternKey(rules.PatternCounterparty, payer), Taint: rules.Taint{
				Root: lazarus, Source: src, Path: []rules.Hop{hop("0xb1", payer, lazarus,
					7)}}},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	reg := deposit.NewRegistry(rdb, prefix)
	screen, err := NewScreener(map[string]Chain{"ethereum": {Family: chains.FamilyEVM},
		"bitcoin": {Family: chains.FamilyBitcoin, Network: "mainnet"},
		"btcsim":  {Family: chains.FamilyBitcoin, Network: "simnet"}}, lists, store, reg,
		RiskOptions{}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	var deposits *Deposits
	if nodes != nil {
		deposits = NewDeposits(screen, nodes, alerts)
	}
	opts := Options{Deposits: deposits, Keys: []Key{
		{Name: "backend", SHA256: HashKey(readKey), Scopes: []string{ScopeRead}},
		{Name: "ops", SHA256: HashKey(writeKey), Scopes: []string{ScopeRead, ScopeWrite}},
		{Name: "slow", SHA256: HashKey(slowKey), Scopes: []string{ScopeRead}, Rate: 0.001,
			Burst: 2},
	}, MaxBody: 4096, MaxBatch: 5, Now: func() time.Time { return now }}
	for _, edit := range edits {
		edit(&opts)
	}
	s, err := New(screen, reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: srv.URL}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &world{srv: srv, router: router, reg: reg, lists: lists, store: store,
		screen: screen}
}

// do sends a request and checks the answer against openapi.yaml; it returns the status
// and the body.
func (w *world) do(t *testing.T, key, method, path, body string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, w.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	route, params, err := w.router.FindRoute(req)
	if err != nil {
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s %s is not in openapi.yaml: %v", method, path, err)
		}
		return resp.StatusCode, got, resp.Header
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req,
			PathParams: params, Route: route},
		Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	in.SetBodyBytes(got)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Fatalf("%s %s: answer %d does not fit openapi.yaml: %v\n%s", method, path,
			resp.StatusCode, err, got)
	}
	return resp.StatusCode, got, resp.Header
}

func report(t *testing.T, body []byte) Report {
	t.Helper()
	var r Report
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestScreenAddress: the risk of each kind of address, with the reasons, designations,
// labels and exposure that make it.
func TestScreenAddress(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name       string
		give       string
		wantRisk   string
		wantReason string // in the first reason
		check      func(t *testing.T, r Report)
	}{
		{"a sanctioned source", lazarus, RiskSevere, "listed as sanctioned (Lazarus Group",
			func(t *testing.T, r Report) {
				if len(r.Listed) != 1 || !r.Listed[0].InForce || r.Listed[0].Designated == nil {
					t.Fatalf("listed %+v", r.Listed)
				}
			}},
		{"a delisted mixer: the label, the listing no longer in force", tornado, RiskHigh,
			"labelled mixer", func(t *testing.T, r Report) {
				if len(r.Listed) != 1 || r.Listed[0].InForce || r.Listed[0].Delisted == nil {
					t.Fatalf("listed %+v", r.Listed)
				}
			}},
		{"funds two hops from Lazarus", twoHops, RiskSevere, "received 40 of Lazarus Group",
			func(t *testing.T, r Report) {
				e := r.Exposure[0]
				if e.Model != "poison" || e.Hops != 2 || e.Source != lazarus ||
					strings.Join(e.Evidence, ",") != "0xa1,0xa2" {
					t.Fatalf("exposure %+v", e)
				}
			}},
		{"four hops: one level lower", fourHops, RiskHigh, "4 hop(s)", nil},
		{"a small tainted share under haircut", diluted, RiskLow, "(haircut)",
			func(t *testing.T, r Report) {
				if e := r.Exposure[0]; e.Held != "100000" || e.TaintedAmount != "30" {
					t.Fatalf("exposure %+v", e)
				}
			}},
		{"a payer of a sanctioned source", payer, RiskSevere, "paid Lazarus Group",
			func(t *testing.T, r Report) {
				if len(r.Counterparty) != 1 || r.Counterparty[0].Model != "outgoing" {
					t.Fatalf("counterparty %+v", r.Counterparty)
				}
			}},
		{"a checksummed address is normalized; nothing known", strings.ToUpper(clean[:2]) +
			"5555555555555555555555555555555555555555", RiskNone, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, _ := w.do(t, readKey, "GET", "/v1/addresses/ethereum/"+
				strings.Replace(tt.give, "0X", "0x", 1), "")
			if code != http.StatusOK {
				t.Fatalf("%d %s", code, body)
			}
			r := report(t, body)
			if r.Risk != tt.wantRisk || tt.wantReason != "" && (len(r.Reasons) == 0 ||
				!strings.Contains(r.Reasons[0], tt.wantReason)) {
				t.Fatalf("risk %s, reasons %q; want %s, %q", r.Risk, r.Reasons, tt.wantRisk,
					tt.wantReason)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

// TestErrors: every fault is a 4xx naming its field or reason.
func TestErrors(t *testing.T) {
	w := newWorld(t)
	big := `{"chain":"ethereum","addresses":["` + strings.Repeat("a", 5000) + `"]}`
	tests := []struct {
		name, key, method, path, body string
		wantCode                      int
		wantErr                       string
	}{
		{"no key", "", "GET", "/v1/addresses/ethereum/" + clean, "", 401, "missing bearer"},
		{"unknown key", "nope", "GET", "/v1/addresses/ethereum/" + clean, "", 401,
			"unknown API key"},
		{"read key writes", readKey, "PUT", "/v1/watched-deposit-addresses/ethereum/" +
			depositTo, `{"customer_ref":"c1"}`, 403, `"backend" may not write`},
		{"unknown chain", readKey, "GET", "/v1/addresses/solana/" + clean, "", 400,
			`chain: unknown chain "solana" (configured: bitcoin, btcsim, ethereum)`},
		{"malformed address", readKey, "GET", "/v1/addresses/ethereum/0x12", "", 400,
			"address: "},
		{"bitcoin address on ethereum", readKey, "GET",
			"/v1/addresses/ethereum/bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "", 400,
			"address: "},
		{"testnet address on mainnet bitcoin", readKey, "GET",
			"/v1/addresses/bitcoin/tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "", 400,
			"address: "},
		{"empty batch", readKey, "POST", "/v1/screen", `{"chain":"ethereum","addresses":[]}`,
			400, "addresses: empty"},
		{"batch too long", readKey, "POST", "/v1/screen", `{"chain":"ethereum","addresses":` +
			`["` + clean + `","` + clean + `","` + clean + `","` + clean + `","` + clean +
			`","` + clean + `"]}`, 400, "6 addresses, at most 5"},
		{"a bad address in a batch", readKey, "POST", "/v1/screen",
			`{"chain":"ethereum","addresses":["` + clean + `","0xzz"]}`, 400, "addresses[1]: "},
		{"unknown field", readKey, "POST", "/v1/screen",
			`{"chain":"ethereum","addresses":["` + clean + `"],"limit":3}`, 400,
			`unknown field "limit"`},
		{"not JSON", readKey, "POST", "/v1/screen", `chain=ethereum`, 400, "body: "},
		{"empty body", readKey, "POST", "/v1/screen", ``, 400, "empty body"},
		{"body too big", readKey, "POST", "/v1/screen", big, 413, "body over 4096 bytes"},
		{"empty customer", writeKey, "PUT", "/v1/watched-deposit-addresses/ethereum/" +
			depositTo, `{"customer_ref":" "}`, 400, "customer_ref: empty"},
		{"bulk: bad address", writeKey, "POST", "/v1/watched-deposit-addresses",
			`{"chain":"ethereum","addresses":[{"address":"0x1","customer_ref":"c"}]}`, 400,
			"addresses[0].address: "},
		{"not registered", readKey, "GET", "/v1/watched-deposit-addresses/ethereum/" + clean,
			"", 404, "is not a registered deposit address"},
		{"no such route", readKey, "GET", "/v2/everything", "", 404, "no route GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, _ := w.do(t, tt.key, tt.method, tt.path, tt.body)
			var e ErrorBody
			if err := json.Unmarshal(body, &e); err != nil || code != tt.wantCode ||
				!strings.Contains(e.Error, tt.wantErr) {
				t.Fatalf("%d %s; want %d and %q", code, body, tt.wantCode, tt.wantErr)
			}
		})
	}
}

// TestRateLimit: past its burst a key gets 429 with Retry-After; another key is not held
// back.
func TestRateLimit(t *testing.T) {
	w := newWorld(t)
	path := "/v1/addresses/ethereum/" + clean
	for i := range 2 {
		if code, body, _ := w.do(t, slowKey, "GET", path, ""); code != 200 {
			t.Fatalf("request %d: %d %s", i, code, body)
		}
	}
	code, body, h := w.do(t, slowKey, "GET", path, "")
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" ||
		!strings.Contains(string(body), "over its rate limit") {
		t.Fatalf("third request: %d %s (Retry-After %q)", code, body, h.Get("Retry-After"))
	}
	if code, _, _ := w.do(t, readKey, "GET", path, ""); code != 200 {
		t.Fatalf("another key: %d", code)
	}
}

// TestBatchAndRegistrations: a batch screens in order; an exchange registers, reads,
// re-registers, imports and removes deposit addresses, and screening shows them.
func TestBatchAndRegistrations(t *testing.T) {
	w := newWorld(t)
	code, body, _ := w.do(t, readKey, "POST", "/v1/screen",
		`{"chain":"ethereum","addresses":["`+clean+`","`+lazarus+`","`+twoHops+`"]}`)
	var batch struct{ Results []Report }
	if err := json.Unmarshal(body, &batch); err != nil || code != 200 ||
		len(batch.Results) != 3 || batch.Results[1].Risk != RiskSevere ||
		batch.Results[0].Risk != RiskNone || batch.Results[2].Address != twoHops {
		t.Fatalf("batch %d %s", code, body)
	}
	one := "/v1/watched-deposit-addresses/ethereum/" + depositTo
	steps := []struct {
		method, path, body string
		wantCode           int
	}{
		{"PUT", one, `{"customer_ref":"cust-4711"}`, 201},
		{"PUT", one, `{"customer_ref":"cust-4711b"}`, 200},
		{"GET", one, "", 200},
		{"POST", "/v1/watched-deposit-addresses", `{"chain":"ethereum","addresses":[` +
			`{"address":"0x7777777777777777777777777777777777777777","customer_ref":"a"},` +
			`{"address":"0x8888888888888888888888888888888888888888","customer_ref":"b"}]}`,
			200},
		{"DELETE", "/v1/watched-deposit-addresses/ethereum/" +
			"0x8888888888888888888888888888888888888888", "", 204},
		{"DELETE", "/v1/watched-deposit-addresses/ethereum/" +
			"0x8888888888888888888888888888888888888888", "", 404},
	}
	for _, s := range steps {
		if code, body, _ := w.do(t, writeKey, s.method, s.path, s.body); code != s.wantCode {
			t.Fatalf("%s %s: %d %s, want %d", s.method, s.path, code, body, s.wantCode)
		}
	}
	if g, ok := w.reg.Get("ethereum", depositTo); !ok || g.Customer != "cust-4711b" ||
		w.reg.Len() != 2 {
		t.Fatalf("registry %+v %v, %d", g, ok, w.reg.Len())
	}
	_, body, _ = w.do(t, readKey, "GET", "/v1/addresses/ethereum/"+depositTo, "")
	if r := report(t, body); r.Registered == nil || r.Registered.Customer != "cust-4711b" {
		t.Fatalf("screening a registered address: %s", body)
	}
}

// TestOperational: health, readiness and metrics answer without a key; readiness says why
// it is not.
func TestOperational(t *testing.T) {
	w := newWorld(t)
	for _, p := range []string{"/healthz", "/readyz", "/v1/openapi.yaml"} {
		if code, body, _ := w.do(t, "", "GET", p, ""); code != 200 {
			t.Fatalf("%s: %d %s", p, code, body)
		}
	}
	w.do(t, readKey, "GET", "/v1/addresses/ethereum/"+clean, "")
	resp, err := http.Get(w.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m, _ := io.ReadAll(resp.Body)
	const counted = `flowwatch_api_requests_total{code="200",` +
		`route="GET /v1/addresses/{chain}/{address}"} 1`
	if !bytes.Contains(m, []byte(counted)) ||
		!bytes.Contains(m, []byte("flowwatch_api_request_seconds_bucket")) {
		t.Fatalf("metrics:\n%s", m)
	}
	s, err := New(&Screener{}, nil, Options{Ready: func(context.Context) error {
		return errNotReady
	}})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "redis unreachable") {
		t.Fatalf("readyz when not ready: %d %s", rec.Code, rec.Body)
	}
}

var errNotReady = &FieldError{"redis", "redis unreachable"}
