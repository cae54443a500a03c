package main

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/internal/redistest"
)

// TestFanInLookBackRun runs flowwatch with a fan_in rule on a chain that remembers two
// transfers (fan_in.max_payments) and looks back (fan_in.look_back, the default), through
// two RPC URLs (so through the failover and the measured endpoints): three employers pay
// wages in a token to a pool, other traffic follows, then the pool pays the watched
// collector. The alert names the three token payments, which only the node's logs still
// knew; the metrics count the look-back's log queries, and no trace query (traces: off).
func TestFanInLookBackRun(t *testing.T) {
	ctx := context.Background()
	_, prefix := redistest.New(t)
	chain := devChain(t)
	hook := newPayloadHook(t)
	k := chain.Keys
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	usdx, err := chain.Deploy(ctx, k[7], devnet.Token, "USD X", "USDX", big.NewInt(1e12))
	must(err)
	lower := func(b []byte) string { return "0x" + fmt.Sprintf("%x", b) }
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "list.csv"),
		"chain,address,role,category,entity,source,valid_from,valid_to\n"+
			"dev,"+lower(chain.Addrs[0].Bytes())+
			",source,sanctioned,Lazarus Group (test),test,,\n")
	cfg := filepath.Join(dir, "flowwatch.yaml")
	writeFile(t, cfg, fmt.Sprintf(`redis:
%schains:
  - name: dev
    family: evm
    rpc: [%s, %s]
    confirmations: 0
    start_block: 1
    poll_interval: 20ms
    traces: off
    fan_in:
      max_payments: 2
lists:
  - path: list.csv
rules:
  - name: pooled-wages
    pattern: fan_in
    count: 3
    window: 720h
    sinks: [hook]
sinks:
  - name: hook
    type: webhook
    url: %s
    secret: fan-in-secret
alerting:
  group_wait: 0s
metrics:
  listen: 127.0.0.1:0
`, redistest.Config(prefix), chain.URL, chain.URL, hook.URL))
	cmd, lines := startRun(t, cfg, "running", "metrics listening")
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()

	pk := crypto.ToECDSAUnsafe(crypto.Keccak256([]byte("run look-back pool")))
	pool := crypto.PubkeyToAddress(pk.PublicKey)
	_, err = chain.Transfer(ctx, k[1], pool, big.NewInt(1e18)) // gas money
	must(err)
	for i := 3; i <= 5; i++ {
		_, err = chain.Call(ctx, k[7], usdx, devnet.Token, nil, "transfer", chain.Addrs[i],
			big.NewInt(1e6))
		must(err)
		_, err = chain.Call(ctx, k[i], usdx, devnet.Token, nil, "transfer", pool,
			big.NewInt(int64(1000*i)))
		must(err)
	}
	for range 3 { // other traffic: flowwatch forgets the wages
		_, err = chain.Transfer(ctx, k[2], chain.Addrs[6], big.NewInt(1e15))
		must(err)
	}
	_, err = chain.Transfer(ctx, pk, chain.Addrs[0], big.NewInt(1e17))
	must(err)

	a := hook.wait(t, "fan-in alert")[0].Alerts[0]
	var path []string
	for _, h := range a.Path {
		path = append(path, h.From)
	}
	want := []string{lower(chain.Addrs[3].Bytes()), lower(chain.Addrs[4].Bytes()),
		lower(chain.Addrs[5].Bytes()), lower(pool.Bytes())}
	if a.Rule != "pooled-wages" || strings.Join(path, " ") != strings.Join(want, " ") ||
		a.Destination.Entity != "pooled from 3 senders" {
		t.Fatalf("alert %+v\npath %v, want %v", a, path, want)
	}
	resp, err := http.Get("http://" + loggedAddr(t, lines["metrics listening"]) + "/metrics")
	must(err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	logs, traces := 0, 0
	re := regexp.MustCompile(`(?m)^flowwatch_rpc_requests_total\{([^}]*)\} (\d+)$`)
	for _, m := range re.FindAllStringSubmatch(string(body), -1) {
		n, _ := strconv.Atoi(m[2])
		switch {
		case strings.Contains(m[1], `call="logs"`) && strings.Contains(m[1], `outcome="ok"`):
			logs += n
		case strings.Contains(m[1], `call="traces"`):
			traces += n
		}
	}
	// The chain's traces are off: the look-back asks for logs only.
	if logs == 0 || traces != 0 {
		t.Fatalf("%d log queries, %d trace queries counted; want some, none:\n%s", logs,
			traces, body)
	}
}
