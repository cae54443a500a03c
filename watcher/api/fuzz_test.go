package api

import (
	"context"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/chains/ethereum"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
)

// fuzzRoutes are the routes FuzzAPI sends to, by the fuzzer's number; a route with a body
// takes the fuzzer's, and the path's {chain} and {address} take its strings.
var fuzzRoutes = []struct{ method, path string }{
	{http.MethodGet, "/v1/addresses/{chain}/{address}"},
	{http.MethodPost, "/v1/screen"},
	{http.MethodPost, "/v1/deposits"},
	{http.MethodGet, "/v1/watched-deposit-addresses/{chain}/{address}"},
	{http.MethodPut, "/v1/watched-deposit-addresses/{chain}/{address}"},
	{http.MethodDelete, "/v1/watched-deposit-addresses/{chain}/{address}"},
	{http.MethodPost, "/v1/watched-deposit-addresses"},
}

// FuzzAPI: whatever a client sends to a route, the answer is one that openapi.yaml
// describes, with a reason when it is a 4xx, and never a 5xx or a crash: Redis and the
// node (go-ethereum's simulated chain, over JSON-RPC) are up, so nothing of the service
// fails, and any 5xx would be a bad request taken for a failure.
func FuzzAPI(f *testing.F) {
	ctx := context.Background()
	c, err := devnet.Start(devnet.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = c.Close() })
	src, err := ethereum.Dial(ctx, c.URL, ethereum.Options{Chain: "ethereum",
		Traces: ethereum.TracesOff, Logger: zap.NewNop()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(src.Close)
	// One key that may do all, at a rate no fuzzing reaches.
	w := newWorldWith(f, map[string]Node{"ethereum": src}, nil, func(o *Options) {
		o.Keys = []Key{{Name: "fuzz", SHA256: HashKey(writeKey),
			Scopes: []string{ScopeRead, ScopeWrite}, Rate: 1e9, Burst: 1e9}}
	})
	// A payment to a deposit address, and a block on it: the node's transaction index
	// then answers for any hash at once (a new chain's is "in progress", a 503).
	receipt, err := c.Transfer(ctx, c.Keys[0], c.Addrs[2], big.NewInt(1e15))
	if err != nil {
		f.Fatal(err)
	}
	paid, dep := receipt.TxHash.Hex(), strings.ToLower(c.Addrs[2].Hex())
	tx := "0x" + strings.Repeat("ab", 32)
	for _, s := range []struct {
		route       uint8
		chain, addr string
		body        string
	}{
		{0, "ethereum", lazarus, ""},
		{0, "ethereum", "0xnothex", ""},
		{0, "bitcoin", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", ""},
		{0, "solana", clean, ""},
		{1, "", "", `{"chain":"ethereum","addresses":["` + twoHops + `","` + clean + `"]}`},
		{1, "", "", `{"chain":"ethereum","addresses":[]}`},
		{1, "", "", `{"chain":"btcsim","addresses":["x"],"extra":1}`},
		{1, "", "", `{"chain":"ethereum"}{}`},
		{2, "", "", `{"chain":"ethereum","tx":"` + tx + `","address":"` + clean + `"}`},
		{2, "", "", `{"chain":"ethereum","tx":"0x12","address":"` + clean + `"}`},
		{2, "", "", `{"chain":"ethereum","tx":"` + paid + `","address":"` + dep + `"}`},
		{2, "", "", `{"chain":"ethereum","tx":"` + paid + `","address":"` + clean + `"}`},
		{2, "", "", `{"chain":"bitcoin","tx":"` + tx[2:] + `","address":"x"}`},
		{3, "ethereum", depositTo, ""},
		{4, "ethereum", depositTo, `{"customer_ref":"c-1"}`},
		{4, "ethereum", depositTo, `{"customer_ref":"   "}`},
		{5, "ethereum", depositTo, ""},
		{6, "", "", `{"chain":"ethereum","addresses":[{"address":"` + payer +
			`","customer_ref":"c-2"}]}`},
		{6, "", "", `{"chain":"ethereum","addresses":[{"address":"0x1"}]}`},
	} {
		f.Add(s.route, s.chain, s.addr, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, route uint8, chain, addr string, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		if strings.Contains(r.path, "{") && (!pathSegment(chain) || !pathSegment(addr)) {
			return // a path of another route, or none
		}
		path := strings.NewReplacer("{chain}", url.PathEscape(chain),
			"{address}", url.PathEscape(addr)).Replace(r.path)
		code, got, _ := w.do(t, writeKey, r.method, path, string(body))
		if code >= 500 {
			t.Fatalf("%s %s %q: %d %s", r.method, path, body, code, got)
		}
		if code >= 400 {
			var e ErrorBody
			if err := json.Unmarshal(got, &e); err != nil || e.Error == "" {
				t.Fatalf("%s %s %q: %d with no reason: %s", r.method, path, body, code, got)
			}
		}
	})
}

// pathSegment says whether s can be one segment of a path: not empty, no slash, and not a
// dot segment, which a client cleans away.
func pathSegment(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.Contains(s, "/")
}
