package main

import (
	"bytes"
	"encoding/json"
	"math/big"
	"sort"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/bitcoin/simnet"
	"github.com/flowwatch/flowwatch/internal/redistest"
)

// TestDemo runs `flowwatch demo --json` with the in-memory queue and with Redis, and wants
// exactly the scenario's two alerts, with their paths: fresh wallet 1's deposit into the
// Tornado Cash pool (2 hops) and fresh wallet 5's payment into the deposit address (3 hops),
// which the unrelated user's deposit there and its sweep to Binance 14 showed to be
// Binance's; the unrelated user's deposit and the sweeps must not alert. With btcd at hand, the Bitcoin leg
// adds one alert: the peeled ransom's deposit at the exchange, 3 hops from the ransom
// address, naming the output.
func TestDemo(t *testing.T) {
	redisURL := redistest.StandaloneURL()
	simnet.Btcd(t) // builds btcd if no test has yet
	for _, args := range [][]string{{"demo", "--json", "--bitcoin", "off"},
		{"demo", "--json", "--bitcoin", "off", "--redis", redisURL},
		{"demo", "--json", "--redis", redisURL}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(args, &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
				var a alerting.Alert
				if err := json.Unmarshal([]byte(line), &a); err != nil {
					t.Fatalf("%q: %v", line, err)
				}
				last := a.Path[len(a.Path)-1]
				if last.Tx != a.Tx || last.To != a.Destination.Address || a.State != "confirmed" {
					t.Errorf("alert %+v: path does not end at the destination", a)
				}
				if a.Chain == demoBitcoinChain {
					if a.Position != "vout:0" || a.Source.Entity != "Andariel (demo stand-in)" {
						t.Errorf("bitcoin alert %+v", a)
					}
					got = append(got, strings.Join([]string{a.Rule, a.Destination.Entity,
						a.Amount, big.NewInt(int64(len(a.Path))).String()}, " "))
					continue
				}
				got = append(got, strings.Join([]string{a.Rule, a.Destination.Entity,
					a.Destination.Address, a.Amount, big.NewInt(int64(len(a.Path))).String()}, " "))
			}
			sort.Strings(got)
			depositAddr := strings.ToLower(crypto.PubkeyToAddress(freshKey(5).PublicKey).Hex())
			want := []string{
				"sanctioned-to-exchange Binance 14 " + depositAddr +
					" 105000000000000000000 3",
				"sanctioned-to-mixer Tornado Cash 100 ETH pool " +
					strings.ToLower(tornado100ETH.Hex()) + " 100000000000000000000 2",
			}
			if !strings.Contains(strings.Join(args, " "), "--bitcoin off") {
				want = append(want, "sanctioned-to-exchange Exchange (demo stand-in) 299900000 3")
				sort.Strings(want)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestDemoWithoutBtcd: with no btcd at hand the demo says the Bitcoin leg is skipped, and
// why, and plays the Ethereum scenario.
func TestDemoWithoutBtcd(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("PATH", t.TempDir())
	var stdout, stderr bytes.Buffer
	if code := run([]string{"demo"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "Bitcoin leg: skipped: btcd not found") ||
		strings.Count(out, "ALERT") != 2 {
		t.Fatalf("output:\n%s", out)
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
		if got := chains.FormatUnits(v, 18); got != tt.want {
			t.Errorf("FormatUnits(%s) = %s, want %s", tt.give, got, tt.want)
		}
	}
}
