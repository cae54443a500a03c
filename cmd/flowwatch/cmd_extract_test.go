package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/flowwatch/flowwatch/chains/bitcoin/bitcointest"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
)

// TestExtractDevChain runs `flowwatch extract` against a dev node with traces, over HTTP:
// a transfer, a token deployed and moved, and an internal transfer; it checks the JSONL
// schema, the block order and the values.
func TestExtractDevChain(t *testing.T) {
	ctx := context.Background()
	c, err := devnet.Start(devnet.Options{Tracers: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	a := c.Keys[0]
	if _, err := c.Transfer(ctx, a, c.Addrs[1], big.NewInt(12345)); err != nil {
		t.Fatal(err)
	}
	token, err := c.Deploy(ctx, a, devnet.Token, "T", "T", big.NewInt(1_000_000))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Call(ctx, a, token, devnet.Token, nil, "transfer", c.Addrs[2],
		big.NewInt(777)); err != nil {
		t.Fatal(err)
	}
	fwd, err := c.Deploy(ctx, a, devnet.Forwarder)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Call(ctx, a, fwd, devnet.Forwarder, big.NewInt(99), "forward",
		c.Addrs[3]); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	code := run([]string{"extract", "--chain", "devnet", "--rpc", c.URL, "--from", "1",
		"--traces", "on", "--concurrency", "3"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	type record struct {
		Chain     string `json:"chain"`
		Block     uint64 `json:"block"`
		BlockHash string `json:"block_hash"`
		Time      string `json:"time"`
		Tx        string `json:"tx"`
		Position  string `json:"position"`
		Kind      string `json:"kind"`
		From      string `json:"from"`
		To        string `json:"to"`
		Asset     string `json:"asset"`
		Amount    string `json:"amount"`
	}
	var got []string
	lastBlock := uint64(0)
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var r record
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if r.Chain != "devnet" || len(r.BlockHash) != 66 || len(r.Tx) != 66 ||
			!strings.HasSuffix(r.Time, "Z") || r.Block < lastBlock {
			t.Errorf("bad record %s", line)
		}
		lastBlock = r.Block
		got = append(got, fmt.Sprintf("%s %s %s %s %s %s", r.Position, r.Kind, r.From, r.To,
			r.Asset, r.Amount))
	}
	l := func(a fmt.Stringer) string { return strings.ToLower(a.String()) }
	zero := "0x0000000000000000000000000000000000000000"
	want := []string{
		fmt.Sprintf("tx native %s %s native 12345", l(c.Addrs[0]), l(c.Addrs[1])),
		fmt.Sprintf("log:0 token %s %s %s 1000000", zero, l(c.Addrs[0]), l(token)),
		fmt.Sprintf("log:0 token %s %s %s 777", l(c.Addrs[0]), l(c.Addrs[2]), l(token)),
		fmt.Sprintf("tx native %s %s native 99", l(c.Addrs[0]), l(fwd)),
		fmt.Sprintf("trace:0 internal %s %s native 99", l(fwd), l(c.Addrs[3])),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestExtractBitcoin: extract --chain bitcoin writes one object per transaction of the
// recorded mainnet blocks 50001-50002, inputs resolved to the outputs they spend.
func TestExtractBitcoin(t *testing.T) {
	_, url := bitcointest.NewNode(t, "../..")
	var stdout, stderr bytes.Buffer
	code := run([]string{"extract", "--chain", "bitcoin", "--rpc", url, "--from", "50001",
		"--to", "50002"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want the 4 transactions:\n%s", len(lines), stdout.String())
	}
	want := `{"chain":"bitcoin","block":50001,"block_hash":"000000001c920d495e1eeef2452b6d1c6c229a91` +
		`9b28196c103ecffebabee141","time":"2010-04-10T16:31:40Z","tx":"f84761459a00c6df3176ae5d9` +
		`4c99e69f25100d09548e5686bd0c354bb8cc60a","position":"tx","kind":"utxo","inputs":[{"addr` +
		`ess":"18dxbN6m8zxieN8F9BchXmhbeXUdFLr8fD","amount":"5000000000","prev_tx":"0d37522b89f9` +
		`91f8433b80f709ad31862a54435cd003f25732fe405e9db93216","prev_index":0}],"outputs":[`
	if !strings.HasPrefix(lines[2], want) {
		t.Fatalf("third transaction:\n got %s\nwant %s…", lines[2], want)
	}
	if !strings.Contains(lines[0], `"inputs":[{"coinbase":true}]`) {
		t.Fatalf("coinbase not marked: %s", lines[0])
	}
	for _, tt := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"bad network", []string{"--network", "moonnet"}, "unknown bitcoin network"},
		{"bad url", []string{"--rpc", "ftp://x"}, "want http://user:pass@host:port"},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"extract", "--chain", "bitcoin", "--rpc", url, "--from", "1"},
			tt.args...)
		if code := run(args, &stdout, &stderr); code == 0 ||
			!strings.Contains(stderr.String(), tt.wantErr) {
			t.Errorf("%s: exit %d, stderr %q; want an error with %q", tt.name, code,
				stderr.String(), tt.wantErr)
		}
	}
}
