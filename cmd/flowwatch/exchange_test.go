package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"go.yaml.in/yaml/v3"

	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/api"
)

// TestExchangeJourney is what an exchange does from the README: it makes API keys, starts
// flowwatch run with the API on, registers a deposit address of a customer, screens
// addresses; Lazarus funds reach the deposit address through a fresh wallet on the
// simulated chain, and the alert names the customer; screening then shows the fresh
// wallet's exposure and the sender's designation, and deposit screening the tainted
// deposit's risk, its alert and its customer, and the clean deposit as clean. The rule
// follows one address per source (max_tracked): Lazarus's second fresh wallet is past the
// cap, which the metrics count.
func TestExchangeJourney(t *testing.T) {
	ctx := context.Background()
	_, prefix := redistest.New(t)
	chain := devChain(t)
	hook := newPayloadHook(t)

	writeKey, writeSHA := apiKey(t, "read,write")
	readKey, readSHA := apiKey(t, "read")

	dir := t.TempDir()
	lazarus := hexAddr(chain.Addrs[0])
	writeFile(t, filepath.Join(dir, "list.csv"),
		"chain,address,role,category,entity,source,valid_from,valid_to\n"+
			"dev,"+lazarus+",source,sanctioned,Lazarus Group (test),test,,\n")
	cfg := filepath.Join(dir, "flowwatch.yaml")
	writeFile(t, cfg, fmt.Sprintf(`redis:
%schains:
  - name: dev
    family: evm
    rpc: [%s]
    confirmations: 0
    start_block: 1
    poll_interval: 20ms
    traces: off
lists:
  - path: list.csv
rules:
  - name: tainted-deposit
    destinations: [exchange_deposit]
    max_hops: 4
    max_tracked: 1
    sinks: [hook]
sinks:
  - name: hook
    type: webhook
    url: %s
    secret: journey-secret
alerting:
  group_wait: 0s
metrics:
  listen: 127.0.0.1:0
api:
  listen: 127.0.0.1:0
  keys:
    - {name: ops, sha256: %s, scopes: [read, write]}
    - {name: backend, sha256: %s, scopes: [read]}
`, redistest.Config(prefix), chain.URL, hook.URL, writeSHA, readSHA))

	// The ports are the system's choice, which the log names: a port found free before
	// the process binds it may be taken by then.
	cmd, lines := startRun(t, cfg, "api listening", "metrics listening")
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	base, metricsURL := "http://"+loggedAddr(t, lines["api listening"]),
		"http://"+loggedAddr(t, lines["metrics listening"])
	call := func(key, method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	k := crypto.ToECDSAUnsafe(crypto.Keccak256([]byte("journey deposit")))
	dep := crypto.PubkeyToAddress(k.PublicKey)
	fk := crypto.ToECDSAUnsafe(crypto.Keccak256([]byte("journey fresh")))
	fresh := crypto.PubkeyToAddress(fk.PublicKey)
	if code, body := call(readKey, "PUT", "/v1/watched-deposit-addresses/dev/"+dep.Hex(),
		`{"customer_ref":"cust-4711"}`); code != http.StatusForbidden {
		t.Fatalf("a read key registered: %d %s", code, body)
	}
	if code, body := call(writeKey, "PUT", "/v1/watched-deposit-addresses/dev/"+dep.Hex(),
		`{"customer_ref":"cust-4711"}`); code != http.StatusCreated {
		t.Fatalf("register: %d %s", code, body)
	}
	transfer := func(i int, to common.Address, wei *big.Int) string {
		t.Helper()
		r, err := chain.Transfer(ctx, chain.Keys[i], to, wei)
		if err != nil || r.Status != 1 {
			t.Fatalf("transfer: %v", err)
		}
		return strings.ToLower(r.TxHash.Hex())
	}
	cleanTx := transfer(3, dep, big.NewInt(1e17)) // a clean customer deposit: no alert
	transfer(0, fresh, big.NewInt(3e18))
	r, err := chain.Transfer(ctx, fk, dep, big.NewInt(2e18))
	if err != nil || r.Status != 1 {
		t.Fatalf("transfer: %v", err)
	}
	taintedTx := strings.ToLower(r.TxHash.Hex())
	got := hook.wait(t, "alert for the tainted deposit")
	a := got[0].Alerts[0]
	if len(got) != 1 || a.Rule != "tainted-deposit" || len(a.Path) != 2 ||
		!strings.Contains(a.Destination.Entity, "cust-4711") {
		t.Fatalf("alerts %+v", got)
	}
	code, body := call(readKey, "GET", "/v1/addresses/dev/"+fresh.Hex(), "")
	if code != 200 || !strings.Contains(body, `"risk":"severe"`) ||
		!strings.Contains(body, `"entity":"Lazarus Group (test)"`) {
		t.Fatalf("screen the fresh wallet: %d %s", code, body)
	}
	code, body = call(readKey, "POST", "/v1/screen", `{"chain":"dev","addresses":["`+
		lazarus+`","`+dep.Hex()+`"]}`)
	if code != 200 || !strings.Contains(body, `"customer_ref":"cust-4711"`) ||
		!strings.Contains(body, "listed as sanctioned") {
		t.Fatalf("screen a batch: %d %s", code, body)
	}
	// The deposits, screened while the exchange decides whether to credit them.
	depositOf := func(tx string) api.DepositReport {
		t.Helper()
		code, body := call(readKey, "POST", "/v1/deposits", `{"chain":"dev","tx":"`+tx+
			`","address":"`+dep.Hex()+`"}`)
		var r api.DepositReport
		if err := json.Unmarshal([]byte(body), &r); code != 200 || err != nil {
			t.Fatalf("screen deposit %s: %d %s", tx, code, body)
		}
		return r
	}
	if d := depositOf(taintedTx); d.Risk != api.RiskSevere || d.Confirmations < 1 ||
		len(d.Alerts) != 1 || d.Alerts[0].Rule != "tainted-deposit" || d.Registered == nil ||
		d.Registered.Customer != "cust-4711" || len(d.Exposure) == 0 ||
		d.Exposure[0].Hops != 2 || d.Received[0].Amount != "2000000000000000000" {
		t.Fatalf("the tainted deposit: %+v", d)
	}
	if d := depositOf(cleanTx); d.Risk != api.RiskNone || len(d.Alerts) != 0 {
		t.Fatalf("the clean deposit: %+v", d)
	}
	// Lazarus pays a second fresh wallet, past the cap: not followed, counted.
	fresh2 := crypto.PubkeyToAddress(crypto.ToECDSAUnsafe(
		crypto.Keccak256([]byte("journey fresh 2"))).PublicKey)
	transfer(0, fresh2, big.NewInt(1e17))
	waitMetric(t, metricsURL, "flowwatch_tracked_cap_hits_total", 1, "chain", "dev")
	checkMetrics(t, metricsURL, base, readKey)
	var screenOut strings.Builder
	if code := run([]string{"screen", "--config", cfg, "--chain", "dev", fresh.Hex()},
		&screenOut, io.Discard); code != 0 || !strings.Contains(screenOut.String(), "SEVERE") {
		t.Fatalf("flowwatch screen: exit %d\n%s", code, screenOut.String())
	}
	screenOut.Reset()
	if code := run([]string{"screen", "--config", cfg, "--chain", "dev", "--tx", taintedTx,
		dep.Hex()}, &screenOut, io.Discard); code != 0 || !strings.Contains(screenOut.String(),
		"SEVERE") || !strings.Contains(screenOut.String(), "rule tainted-deposit") {
		t.Fatalf("flowwatch screen --tx: exit %d\n%s", code, screenOut.String())
	}
}

// loggedAddr is the addr field of a JSON log line.
func loggedAddr(t *testing.T, line string) string {
	t.Helper()
	var l struct{ Addr string }
	if err := json.Unmarshal([]byte(line), &l); err != nil || l.Addr == "" {
		t.Fatalf("no address in log line %q: %v", line, err)
	}
	return l.Addr
}

// checkMetrics scrapes the metrics endpoint (and the API's /metrics, the same registry)
// of a flowwatch run that followed chain dev, raised one tainted-deposit alert, delivered
// it to sink hook, and screened a deposit; and checks its health endpoints.
func checkMetrics(t *testing.T, metricsURL, apiURL, key string) {
	t.Helper()
	fams := scrape(t, metricsURL, "")
	for _, c := range []struct {
		name   string
		labels []string
		min    float64
		max    float64 // 0: no bound
	}{
		{"flowwatch_chain_head_block", []string{"chain", "dev"}, 3, 0},
		{"flowwatch_chain_published_block", []string{"chain", "dev"}, 3, 0},
		{"flowwatch_blocks_published_total", []string{"chain", "dev"}, 3, 0},
		{"flowwatch_movements_published_total", []string{"chain", "dev"}, 3, 0},
		{"flowwatch_movements_judged_total", []string{"chain", "dev"}, 3, 0},
		{"flowwatch_tracked_cap_hits_total", []string{"chain", "dev"}, 1, 1},
		{"flowwatch_queue_backlog", []string{"chain", "dev"}, 0, 1e9},
		{"flowwatch_worker_memory_reach_seconds", []string{"chain", "dev", "memory",
			"deposits"}, 0, 1e9},
		{"flowwatch_alerts_total", []string{"rule", "tainted-deposit", "state", "confirmed"},
			1, 1},
		{"flowwatch_sink_notifications_total", []string{"sink", "hook", "outcome",
			"delivered"}, 1, 0},
		{"flowwatch_sink_notify_seconds", []string{"sink", "hook"}, 1, 0},
		{"flowwatch_rpc_requests_total", []string{"chain", "dev", "call", "block", "outcome",
			"ok"}, 3, 0},
		{"flowwatch_rpc_requests_total", []string{"call", "tx", "outcome", "ok"}, 2, 0},
		{"flowwatch_rpc_request_seconds", []string{"call", "head"}, 1, 0},
		{"flowwatch_chain_poller_error", []string{"chain", "dev"}, 0, 0.5},
		{"flowwatch_api_requests_total", []string{"route", "POST /v1/deposits"}, 2, 0},
		{"go_goroutines", nil, 1, 0},
	} {
		v, ok := metricValue(fams, c.name, c.labels...)
		if !ok || v < c.min || (c.max > 0 && v > c.max) {
			t.Errorf("%s%v = %v (found %v), want %v to %v", c.name, c.labels, v, ok, c.min,
				c.max)
		}
	}
	// The sample dashboard and alert rules name only metrics the process has.
	for _, f := range []string{"grafana-dashboard.json", "prometheus-alerts.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "configs", "monitoring", f))
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := yaml.Unmarshal(b, &doc); err != nil { // JSON is YAML too
			t.Fatalf("%s: %v", f, err)
		}
		names := regexp.MustCompile(`flowwatch_[a-z_]+`).FindAllString(string(b), -1)
		if len(names) < 10 {
			t.Fatalf("%s names %d metrics", f, len(names))
		}
		for _, n := range names {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"),
				"_sum"), "_count")
			if _, ok := fams[base]; !ok {
				t.Errorf("%s names %s, which the process does not have", f, n)
			}
		}
	}
	if _, ok := scrape(t, apiURL, key)["flowwatch_movements_judged_total"]; !ok {
		t.Error("the API's /metrics lacks the pipeline's")
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(metricsURL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
}
