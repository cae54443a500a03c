package main

import (
	"bytes"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

// TestDemo runs `flowwatch demo --json` and checks that the scenario's flows came through
// the JSON-RPC follower in block order: the theft, the fan-out, the Tornado Cash deposit and
// the sweep into Binance's hot wallet.
func TestDemo(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"demo", "--json"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var got []string
	last := uint64(0)
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var r struct {
			Block  uint64 `json:"block"`
			To     string `json:"to"`
			Amount string `json:"amount"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if r.Block < last {
			t.Fatalf("block %d after block %d", r.Block, last)
		}
		last = r.Block
		got = append(got, r.To+" "+r.Amount)
	}
	if len(got) != 10 {
		t.Fatalf("got %d movements, want 10:\n%s", len(got), stdout.String())
	}
	for _, want := range []string{
		strings.ToLower(tornado100ETH.Hex()) + " 100000000000000000000",
		strings.ToLower(binance14.Hex()) + " 104000000000000000000",
	} {
		if !strings.Contains(strings.Join(got, "\n"), want) {
			t.Errorf("no movement %s in\n%s", want, strings.Join(got, "\n"))
		}
	}
}

func TestFormatUnits(t *testing.T) {
	tests := []struct {
		give string
		want string
	}{
		{"0", "0"}, {"1", "0.000000000000000001"}, {"1000000000000000000", "1"},
		{"1500000000000000000", "1.5"}, {"-2500000000000000000", "-2.5"},
		{"123456789000000000000000", "123456.789"},
	}
	for _, tt := range tests {
		v, _ := new(big.Int).SetString(tt.give, 10)
		if got := formatUnits(v, 18); got != tt.want {
			t.Errorf("formatUnits(%s) = %s, want %s", tt.give, got, tt.want)
		}
	}
}
