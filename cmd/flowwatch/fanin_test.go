package main

import (
	"context"
	"fmt"
	"math/big"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/internal/redistest"
)

// TestFanInLookBackRun runs flowwatch with a fan_in rule through two RPC URLs (so through
// the failover and the measured endpoints), with the look-back on (fan_in.look_back, the
// default) and traces off: three employers pay wages in a token to a pool, other traffic
// follows, then the pool pays the watched collector:
//   - forgotten: the chain remembers two transfers (fan_in.max_payments), so the wages are
//     out of the worker's memory by the time of the payment; the one alert names the three
//     token payments, which only the node's logs still knew;
//   - restarted: flowwatch judged the wages, stopped and started again (a crash loses the
//     memory all the same; the kill tests show what else it loses and recovers); the new
//     process reads what was judged back from the stream before it judges anything, so
//     the one alert names the gas money the pool received too, a payment of the coin that
//     the node, without traces, could not tell.
//
// The metrics of the process that raised it count its log queries (the window reaches back
// past what either remembers), and no trace query.
func TestFanInLookBackRun(t *testing.T) {
	for _, tc := range []struct {
		name    string
		bound   string // the fan_in section's max_payments line
		restart bool
		gas     bool // the alert names the gas money among the senders
	}{
		{name: "forgotten", bound: "      max_payments: 2\n"},
		{name: "restarted", bound: "      max_payments: 1000\n", restart: true, gas: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testFanInLookBackRun(t, tc.bound, tc.restart, tc.gas)
		})
	}
}

func testFanInLookBackRun(t *testing.T, bound string, restart, gas bool) {
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
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "list.csv"),
		"chain,address,role,category,entity,source,valid_from,valid_to\n"+
			"dev,"+hexAddr(chain.Addrs[0])+
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
%slists:
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
`, redistest.Config(prefix), chain.URL, chain.URL, bound, hook.URL))
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
	for range 3 { // other traffic
		_, err = chain.Transfer(ctx, k[2], chain.Addrs[6], big.NewInt(1e15))
		must(err)
	}
	metrics := "http://" + loggedAddr(t, lines["metrics listening"])
	if restart {
		head, err := chain.Client.BlockNumber(ctx)
		must(err)
		waitJudged(t, metrics, head) // the wages judged, then the process dies
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		cmd, lines = startRun(t, cfg, "running", "metrics listening")
		metrics = "http://" + loggedAddr(t, lines["metrics listening"])
	}
	_, err = chain.Transfer(ctx, pk, chain.Addrs[0], big.NewInt(1e17))
	must(err)

	got := hook.wait(t, "fan-in alert")
	a := got[0].Alerts[0]
	var path []string
	for _, h := range a.Path {
		path = append(path, h.From)
	}
	want := []string{hexAddr(chain.Addrs[3]), hexAddr(chain.Addrs[4]),
		hexAddr(chain.Addrs[5]), hexAddr(pool)}
	if gas {
		want = append([]string{hexAddr(chain.Addrs[1])}, want...)
	}
	if a.Rule != "pooled-wages" || strings.Join(path, " ") != strings.Join(want, " ") ||
		a.Destination.Entity != fmt.Sprintf("pooled from %d senders", len(want)-1) {
		t.Fatalf("alert %+v\npath %v, want %v", a, path, want)
	}
	head, err := chain.Client.BlockNumber(ctx)
	must(err)
	waitJudged(t, metrics, head)
	if got := hook.wait(t, "fan-in alert"); len(got) != 1 || len(got[0].Alerts) != 1 {
		t.Fatalf("%d notifications, want one of one alert: %+v", len(got), got)
	}
	// The chain's traces are off: the look-back asks for logs only.
	logs := metricSum(t, metrics, "flowwatch_rpc_requests_total", "call", "logs",
		"outcome", "ok")
	if traces := metricSum(t, metrics, "flowwatch_rpc_requests_total",
		"call", "traces"); logs == 0 || traces != 0 {
		t.Fatalf("%v log queries, %v trace queries counted; want some, none", logs, traces)
	}
}

// waitJudged waits until the flowwatch run whose metrics are at url has published block
// head of chain dev and acknowledged every queue entry; it fails the test after 30 s.
func waitJudged(t *testing.T, url string, head uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for metricSum(t, url, "flowwatch_chain_published_block", "chain", "dev") < float64(head) ||
		metricSum(t, url, "flowwatch_queue_backlog", "chain", "dev") != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("block %d not judged in 30 s", head)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}
