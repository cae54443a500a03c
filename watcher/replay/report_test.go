package replay

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// replayScenario replays the hand-made scenario under model.
func replayScenario(t *testing.T, model string, asOf time.Time) *Report {
	t.Helper()
	r, err := New(scLists(), Options{Chain: "ethereum", Sources: []string{scLazarus},
		From: 100, To: 112, Model: model, AsOf: asOf, Deposits: &deposit.Options{},
		Explorer: "https://etherscan.io/tx/",
		Tokens:   map[string]Token{scUSDT: {Symbol: "USDT", Decimals: 6}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := (Movements(scenario())).Replay(context.Background(), 100, 112, r); err != nil {
		t.Fatal(err)
	}
	return r.Report()
}

// totalsOf is a report's totals in short: "category entity asset tainted/amount xN".
func totalsOf(rep *Report) string {
	var out []string
	for _, t := range rep.Totals {
		out = append(out, strings.Join([]string{t.Category, t.Entity, t.Asset,
			t.Tainted + "/" + t.Amount, "x" + itoa(t.Transfers)}, " "))
	}
	return strings.Join(out, "; ")
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestReportTotals: what reached each destination under each model, worked by hand.
//
//	poison:  Tornado 100 (f1's deposit); the deposit address 105 (f5, inferred from the
//	         customer's sweep before); Binance 300 from f4 (tracked: all tainted) and
//	         999,000 USDT from f6 (which received 1,000,000).
//	haircut: f4 holds 120 + 50 tainted of 370 when it pays 300: 300×170/370 = 137.83...
//	FIFO:    f4's queue is [120t, 50t, 200c]: the 300 carries 170 tainted.
func TestReportTotals(t *testing.T) {
	const (
		mixer   = "mixer Tornado Cash 100 ETH native 100000000000000000000/100000000000000000000 x1"
		deposit = "exchange_deposit Binance 14 native 105000000000000000000/105000000000000000000 x1"
		usdt    = "exchange Binance 14 0xdac17f958d2ee523a2206206994597c13d831ec7 " +
			"999000000000/999000000000 x1"
	)
	tests := []struct {
		model, want string
	}{
		{rules.ModelPoison, usdt + "; exchange Binance 14 native " +
			"300000000000000000000/300000000000000000000 x1; " + deposit + "; " +
			mixer},
		{rules.ModelHaircut, usdt + "; exchange Binance 14 native " +
			"137837837837837837837/300000000000000000000 x1; " + deposit + "; " +
			mixer},
		{rules.ModelFIFO, usdt + "; exchange Binance 14 native " +
			"170000000000000000000/300000000000000000000 x1; " + deposit + "; " +
			mixer},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			if got := totalsOf(replayScenario(t, tt.model, time.Time{})); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestReportGraph: the poison graph's nodes and hops, and the designation as of a date.
func TestReportGraph(t *testing.T) {
	rep := replayScenario(t, rules.ModelPoison, time.Time{})
	var nodes []string
	for _, n := range rep.Nodes {
		s := n.Kind + ":" + n.Address + "@" + itoa(n.Hops)
		if n.Label != nil {
			s += "=" + n.Label.Category + "/" + n.Label.List
		}
		nodes = append(nodes, s)
	}
	want := []string{
		"source:" + scLazarus + "@0",
		"address:" + scFresh(1) + "@1", "address:" + scFresh(2) + "@1",
		"address:" + scFresh(3) + "@1", "address:" + scFresh(4) + "@1",
		"address:" + scFresh(6) + "@1",
		"address:" + scFresh(5) + "@2",
		"destination:" + scBinance + "@2=exchange/etherscan",
		"destination:" + scTornado + "@2=mixer/tornado-cash",
		"destination:" + scDeposit + "@3=exchange_deposit/inferred",
	}
	if got := strings.Join(nodes, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("nodes:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	// 4 fan-out, mixer, peel, cash-out, consolidation, f4 to Binance, USDT twice; not
	// the theft (into the source), the customer's deposit and the sweeps (clean).
	if len(rep.Edges) != 11 {
		t.Errorf("%d edges, want 11: %+v", len(rep.Edges), rep.Edges)
	}
	if rep.Nodes[0].Designation != nil {
		t.Errorf("Lazarus designated at the theft: %+v", rep.Nodes[0].Designation)
	}
	later := replayScenario(t, rules.ModelPoison, scStart.Add(48*time.Hour))
	if d := later.Nodes[0].Designation; d == nil || d.Entity != "Lazarus Group" {
		t.Errorf("as of two days later: designation %+v, want Lazarus Group", d)
	}
}

// TestGolden: the reports' JSON, CSV and DOT under each model match the golden files
// (go test -update rewrites them), and a second replay writes the same bytes.
func TestGolden(t *testing.T) {
	for _, model := range []string{rules.ModelPoison, rules.ModelHaircut, rules.ModelFIFO} {
		for _, format := range []string{FormatJSON, FormatCSV, FormatDOT} {
			t.Run(model+"."+format, func(t *testing.T) {
				render := func() []byte {
					var b bytes.Buffer
					rep := replayScenario(t, model, time.Time{})
					if err := Render(context.Background(), &b, rep, format); err != nil {
						t.Fatal(err)
					}
					return b.Bytes()
				}
				got := render()
				if again := render(); !bytes.Equal(got, again) {
					t.Fatal("two replays of the same input rendered different bytes")
				}
				path := filepath.Join("testdata", "scenario-"+model+"."+format)
				if *update {
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s differs from the golden file (go test -update rewrites it):"+
						"\n%s", path, got)
				}
			})
		}
	}
}
