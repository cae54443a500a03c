package watcher

import (
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/configs"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

// TestDelistingChangesTheVerdict: the Tornado Cash 100 ETH pool was designated on
// 2022-08-08 and delisted on 2025-03-21, and is a mixer throughout. A deposit made in 2024
// alerts as a payment to a sanctioned address (whoever pays) and, from a Lazarus wallet, as
// watched funds reaching a mixer; the same deposit in 2025-04 alerts as the mixer only.
// Movements are judged by what the lists held at their block time, with the bundled lists.
func TestDelistingChangesTheVerdict(t *testing.T) {
	const (
		pool    = "0xa160cdab225685da1d56aa342ad8841c3b53f291"
		lazarus = "0x098b716b8aaf21512996dc57eb0615e2383e2f96"
		clean   = "0x1111111111111111111111111111111111111111"
	)
	// The bundled defaults: OFAC's SDN list of 2025-11-19 (Lazarus's Ronin address among
	// its entries) and the Tornado Cash pools with their designation's validity.
	lists := watchlist.New()
	for _, name := range []string{"lists/sdn_advanced_2025-11-19_digital_currency_excerpt.xml",
		"lists/tornado-cash.csv"} {
		f, err := configs.Lists.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		entries, _, err := watchlist.ReadFile(name, f,
			func(c string) (chains.Family, string, bool) {
				return chains.FamilyEVM, "", c == "ethereum"
			})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		lists.Add(entries...)
	}
	rs := []rules.Rule{
		{Name: "payment-to-sanctioned", Severity: "critical", Direct: true,
			SourceCategories: []string{"sanctioned"}},
		{Name: "to-mixer", Severity: "high", Destinations: []string{"mixer"}, MaxHops: 3},
	}
	tests := []struct {
		name string
		from string
		at   string
		want string
	}{
		{"lazarus, 2024", lazarus, "2024-06-01", "payment-to-sanctioned to-mixer"},
		{"lazarus, 2025-04", lazarus, "2025-04-15", "to-mixer"},
		{"anyone, 2024", clean, "2024-06-01", "payment-to-sanctioned"},
		{"anyone, 2025-04", clean, "2025-04-15", ""},
		{"lazarus before its designation (2019-09-13)", lazarus, "2019-06-01", ""},
		{"the pool before its designation", clean, "2022-08-01", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, _ := time.Parse(time.DateOnly, tt.at)
			m := &chains.Movement{Chain: "ethereum", Tx: "0xt", Position: chains.PositionTx,
				Kind: chains.KindNative, Block: chains.BlockRef{Number: 1, Time: at},
				Inputs:  []chains.Leg{{Address: tt.from, Asset: "native", Amount: big.NewInt(1e18)}},
				Outputs: []chains.Leg{{Address: pool, Asset: "native", Amount: big.NewInt(1e18)}}}
			v := &view{lists: lists, chain: "ethereum", m: m, cache: &chainCache{}}
			var got []string
			for _, f := range rules.Evaluate(rs, m, v).Findings {
				got = append(got, f.Rule.Name)
			}
			if strings.Join(got, " ") != tt.want {
				t.Fatalf("findings %v, want %q", got, tt.want)
			}
		})
	}
}
