package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"

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
