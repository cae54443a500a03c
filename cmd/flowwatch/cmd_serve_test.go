package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/api"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
)

// TestServe runs `flowwatch serve`, the screening API without pollers or workers, beside
// what a flowwatch run keeps in Redis: it answers from the lists and from the taint store
// (a wallet that received Lazarus funds, as a worker stored it), takes a deposit address's
// registration into Redis (where run's workers read it), screens a deposit by looking its
// transaction up on the chain's node, reloads the lists on SIGHUP, and stops on SIGTERM.
func TestServe(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	chain := devChain(t)
	writeKey, writeSHA := apiKey(t, "read,write")

	dir := t.TempDir()
	lazarus, other := hexAddr(chain.Addrs[0]), hexAddr(chain.Addrs[1])
	const header = "chain,address,role,category,entity,source,valid_from,valid_to\n"
	list := filepath.Join(dir, "list.csv")
	writeFile(t, list, header+"dev,"+lazarus+",source,sanctioned,Lazarus Group (test),test,,\n")
	cfg := filepath.Join(dir, "flowwatch.yaml")
	writeFile(t, cfg, `redis:
`+redistest.Config(prefix)+`chains:
  - name: dev
    family: evm
    rpc: [`+chain.URL+`]
lists:
  - path: list.csv
rules:
  - {name: to-exchange, destinations: [exchange], sinks: [log]}
sinks:
  - {name: log, type: file, path: alerts.jsonl}
api:
  listen: 127.0.0.1:0
  keys:
    - {name: ops, sha256: `+writeSHA+`, scopes: [read, write]}
`)
	// What a worker of flowwatch run stored: Lazarus paid a fresh wallet 3 ETH.
	fresh := "0xf000000000000000000000000000000000000001"
	hop := rules.Hop{Chain: "dev", Block: 2, Time: time.Unix(1.7e9, 0).UTC(), Tx: "0x01",
		Position: chains.PositionTx, From: lazarus, To: fresh, Asset: "native",
		Amount: big.NewInt(3e18)}
	if err := taint.NewRedis(rdb, prefix).Apply(ctx, "dev", "run", []rules.NewTaint{{
		Address: fresh, Taint: rules.Taint{Root: lazarus, Source: rules.Source{
			Entity: "Lazarus Group (test)", Category: "sanctioned", List: "test"},
			Path: []rules.Hop{hop}, By: "dev/0x01/tx"}}}, nil); err != nil {
		t.Fatal(err)
	}

	cmd, lines := startCommand(t, "serve", cfg, "serving")
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var l struct{ Addr string }
	if err := json.Unmarshal([]byte(lines["serving"]), &l); err != nil || l.Addr == "" {
		t.Fatalf("no address in %q: %v", lines["serving"], err)
	}
	call := func(method, path, body string, out any) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, "http://"+l.Addr+path,
			strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+writeKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if out != nil && resp.StatusCode < 300 {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: %v in %s", method, path, err, b)
			}
		}
		return resp.StatusCode
	}
	screen := func(a string) api.Report {
		t.Helper()
		var r api.Report
		if code := call("GET", "/v1/addresses/dev/"+a, "", &r); code != 200 {
			t.Fatalf("screen %s: %d", a, code)
		}
		return r
	}
	if r := screen(lazarus); r.Risk != api.RiskSevere || len(r.Listed) != 1 {
		t.Fatalf("Lazarus: %+v", r)
	}
	if r := screen(fresh); len(r.Exposure) != 1 || r.Exposure[0].Hops != 1 ||
		r.Exposure[0].TaintedAmount != "3000000000000000000" || r.Exposure[0].Source != lazarus {
		t.Fatalf("the fresh wallet, from the store: %+v", r)
	}
	if code := call("GET", "/v1/addresses/dev/0x123", "", nil); code != http.StatusBadRequest {
		t.Fatalf("a malformed address: %d, want 400", code)
	}

	// A deposit address registered here is in Redis for run's workers.
	dk := crypto.ToECDSAUnsafe(crypto.Keccak256([]byte("serve deposit")))
	dep := crypto.PubkeyToAddress(dk.PublicKey)
	if code := call("PUT", "/v1/watched-deposit-addresses/dev/"+dep.Hex(),
		`{"customer_ref":"cust-9"}`, nil); code != http.StatusCreated {
		t.Fatalf("register: %d", code)
	}
	reg := deposit.NewRegistry(rdb, prefix)
	if err := reg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if r, ok := reg.Get("dev", hexAddr(dep)); !ok || r.Customer != "cust-9" {
		t.Fatalf("registration in Redis: %+v %v", r, ok)
	}
	// A deposit screened by its transaction, which serve looks up on the node.
	tr, err := chain.Transfer(ctx, chain.Keys[3], dep, big.NewInt(1e17))
	if err != nil || tr.Status != 1 {
		t.Fatalf("transfer: %v", err)
	}
	var d api.DepositReport
	if code := call("POST", "/v1/deposits", `{"chain":"dev","tx":"`+tr.TxHash.Hex()+
		`","address":"`+dep.Hex()+`"}`, &d); code != 200 || d.Confirmations < 1 ||
		d.Risk != api.RiskNone || len(d.Received) != 1 ||
		d.Received[0].Amount != "100000000000000000" || d.Registered == nil {
		t.Fatalf("screen the deposit: %d %+v", code, d)
	}

	// SIGHUP reloads the lists.
	writeFile(t, list, header+"dev,"+lazarus+",source,sanctioned,Lazarus Group (test),test,,\n"+
		"dev,"+other+",source,sanctioned,Another (test),test,,\n")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "new source listed after SIGHUP", func() bool {
		return screen(other).Risk == api.RiskSevere
	})

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v", err)
	}
}

// TestServeConfigErrors: serve without a config, or with one that has no api section,
// exits with a message naming what is missing.
func TestServeConfigErrors(t *testing.T) {
	dir := t.TempDir()
	noAPI := filepath.Join(dir, "flowwatch.yaml")
	writeFile(t, noAPI, "chains:\n  - {name: dev, family: evm, rpc: [http://127.0.0.1:1]}\n"+
		"rules:\n  - {name: to-exchange, destinations: [exchange], sinks: [log]}\n"+
		"sinks:\n  - {name: log, type: file, path: alerts.jsonl}\n")
	for _, tc := range []struct {
		name string
		give []string
		want string
		code int
	}{
		{"no config", []string{"serve"}, "--config is required", exitUsage},
		{"no api", []string{"serve", "--config", noAPI}, "no api.listen", exitError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := run(tc.give, io.Discard, &stderr); code != tc.code ||
				!strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, %q; want %d and %q", code, stderr.String(), tc.code, tc.want)
			}
		})
	}
}

// apiKey makes an API key with scopes as `flowwatch api-key` does, and returns it and its
// SHA-256 (what a config names).
func apiKey(t *testing.T, scopes string) (key, sha string) {
	t.Helper()
	var out strings.Builder
	if code := run([]string{"api-key", "--scopes", scopes}, &out, io.Discard); code != 0 {
		t.Fatalf("api-key: exit %d", code)
	}
	m := regexp.MustCompile(`key: (\S+)[\s\S]*sha256: ([0-9a-f]{64})`).FindStringSubmatch(
		out.String())
	if m == nil || api.HashKey(m[1]) != m[2] {
		t.Fatalf("api-key printed %q", out.String())
	}
	return m[1], m[2]
}
