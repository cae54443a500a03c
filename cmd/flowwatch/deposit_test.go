package main

import (
	"context"
	"fmt"
	"math/big"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/flowwatch/flowwatch/internal/redistest"
)

// TestDepositInferenceAcrossCrash runs flowwatch with deposit inference on the simulated
// chain, with Redis: a customer pays an address, and flowwatch judges it; the process is
// killed (SIGKILL: nothing shut down); started again, it sees the address forward what it
// received to the exchange's hot wallet. That makes it the exchange's deposit address,
// inferred from an arrival that the killed process judged and the new one read back from
// the stream; so Lazarus's payment to it then alerts as reaching the exchange, once, with
// the forward as evidence.
func TestDepositInferenceAcrossCrash(t *testing.T) {
	ctx := context.Background()
	_, prefix := redistest.New(t)
	chain := devChain(t)
	hook := newPayloadHook(t)
	k := chain.Keys
	exchange := common.HexToAddress("0x28C6c06298d514Db089934071355E5743bf21d60")
	dk := crypto.ToECDSAUnsafe(crypto.Keccak256([]byte("crash deposit")))
	dep := crypto.PubkeyToAddress(dk.PublicKey)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "list.csv"),
		"chain,address,role,category,entity,source,valid_from,valid_to\n"+
			"dev,"+hexAddr(chain.Addrs[0])+",source,hack,Lazarus Group (test),test,,\n"+
			"dev,"+hexAddr(exchange)+",label,exchange,Binance 14,test,,\n")
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
    deposits:
      infer: true
lists:
  - path: list.csv
rules:
  - name: to-exchange
    destinations: [exchange]
    max_hops: 3
    sinks: [hook]
sinks:
  - name: hook
    type: webhook
    url: %s
    secret: deposit-secret
alerting:
  group_wait: 0s
claim_idle: 200ms
poller_lease: 300ms
metrics:
  listen: 127.0.0.1:0
`, redistest.Config(prefix), chain.URL, hook.URL))
	milli := func(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e15)) }

	cmd, lines := startRun(t, cfg, "running", "metrics listening")
	_, err := chain.Transfer(ctx, k[2], dep, milli(5000)) // the customer's deposit
	must(err)
	head, err := chain.Client.BlockNumber(ctx)
	must(err)
	waitJudged(t, "http://"+loggedAddr(t, lines["metrics listening"]), head)
	must(cmd.Process.Kill())
	_ = cmd.Wait()

	cmd, lines = startRun(t, cfg, "running", "metrics listening")
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	fwd, err := chain.Transfer(ctx, dk, exchange, milli(4999)) // the exchange's sweep
	must(err)
	_, err = chain.Transfer(ctx, k[0], dep, milli(1000)) // Lazarus pays the deposit address
	must(err)
	got := hook.wait(t, "alert at the inferred deposit address")
	head, err = chain.Client.BlockNumber(ctx)
	must(err)
	waitJudged(t, "http://"+loggedAddr(t, lines["metrics listening"]), head)
	got = hook.wait(t, "alert at the inferred deposit address")
	if len(got) != 1 || len(got[0].Alerts) != 1 {
		t.Fatalf("%d notifications, want one of one alert: %+v", len(got), got)
	}
	a := got[0].Alerts[0]
	d := a.Destination
	if a.Rule != "to-exchange" || d.Address != hexAddr(dep) || d.Entity != "Binance 14" ||
		d.Category != "exchange_deposit" || d.List != "inferred" ||
		!strings.EqualFold(d.Evidence, fwd.TxHash.Hex()) {
		t.Fatalf("alert %+v, destination %+v; want Binance 14's inferred deposit address, "+
			"evidence %s", a, d, fwd.TxHash.Hex())
	}
}
