package render

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains"
)

// Amount is a base-unit amount of asset on chain as people read it: "105.5 ETH" for a
// known chain's coin, "1000000 of token 0xdac1…1ec7 (base units)" otherwise.
func Amount(chain, asset, base string) string {
	symbol, decimals, known := chains.Coin(chain)
	v, ok := new(big.Int).SetString(base, 10)
	if asset != "native" || !known || !ok {
		what := "native units"
		if asset != "native" {
			what = "base units of token " + Short(asset)
		}
		return base + " " + what
	}
	return chains.FormatUnits(v, decimals) + " " + symbol
}

// Totals are an incident's totals, each asset's amount, in a fixed order.
func Totals(in *alerting.Incident) string {
	assets := make([]string, 0, len(in.Totals))
	for a := range in.Totals {
		assets = append(assets, a)
	}
	sort.Strings(assets)
	var parts []string
	for _, a := range assets {
		parts = append(parts, Amount(in.Chain, a, in.Totals[a]))
	}
	if len(parts) == 0 {
		return "nothing in force"
	}
	return strings.Join(parts, " + ")
}

// Trim cuts s to n characters, the last an ellipsis, when it is longer.
func Trim(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// Short abbreviates a long hash or address: "0x1234…cdef".
func Short(h string) string {
	if len(h) <= 14 {
		return h
	}
	return h[:6] + "…" + h[len(h)-4:]
}

// Party is a party as people know it: "Lazarus Group (0x1234…cdef)".
func Party(p alerting.Party) string {
	if p.Entity == "" {
		return p.Address
	}
	if p.Category != "" {
		return fmt.Sprintf("%s, %s (%s)", p.Entity, p.Category, Short(p.Address))
	}
	return fmt.Sprintf("%s (%s)", p.Entity, Short(p.Address))
}

// Incident is the incident a notification's alerts share, or one made of the first alert
// when they have none.
func Incident(alerts []alerting.Alert) *alerting.Incident {
	if len(alerts) > 0 && alerts[0].Incident != nil {
		return alerts[0].Incident
	}
	in := &alerting.Incident{Reason: alerting.ReasonOpened, Status: alerting.StatusOpen}
	if len(alerts) > 0 {
		a := alerts[0]
		in.Rule, in.Chain, in.Severity, in.Source, in.Destination = a.Rule, a.Chain,
			a.Severity, a.Source, a.Destination
		in.Alerts, in.Totals = len(alerts), map[string]string{}
		if a.State == alerting.StateRetracted {
			in.Status = alerting.StatusRetracted
		}
	}
	return in
}

// Headline is a notification's one line: "CRITICAL · to-mixer · incident opened: Lazarus
// Group → Tornado Cash, mixer".
func Headline(alerts []alerting.Alert) string {
	in := Incident(alerts)
	return fmt.Sprintf("%s · %s · incident %s: %s → %s", strings.ToUpper(in.Severity),
		in.Rule, in.Reason, name(in.Source), name(in.Destination))
}

func name(p alerting.Party) string {
	switch {
	case p.Entity != "" && p.Category != "":
		return p.Entity + ", " + p.Category
	case p.Entity != "":
		return p.Entity
	}
	return Short(p.Address)
}

// Summary is what an incident amounts to: "3 alerts in force (1 retracted), 105 ETH, up
// to 3 hops, on ethereum".
func Summary(in *alerting.Incident) string {
	s := fmt.Sprintf("%d alert(s) in force", in.Alerts)
	if in.Retracted > 0 {
		s += fmt.Sprintf(" (%d retracted by a reorg)", in.Retracted)
	}
	return fmt.Sprintf("%s, %s, up to %d hop(s), on %s", s, Totals(in), in.MaxHops, in.Chain)
}

// Explorer is the link to tx on the explorer the alert links to, or "".
func Explorer(a alerting.Alert, tx string) string {
	if a.Explorer == "" || !strings.HasSuffix(a.Explorer, a.Tx) {
		return ""
	}
	return strings.TrimSuffix(a.Explorer, a.Tx) + tx
}

// AlertLine is one alert as people read it: its state, amount, transaction and path.
func AlertLine(a alerting.Alert) string {
	if a.Note != "" {
		return strings.ToUpper(string(a.State)) + ": " + a.Note
	}
	amt := Amount(a.Chain, a.Asset, a.Amount)
	if a.TaintedAmount != "" {
		amt = Amount(a.Chain, a.Asset, a.TaintedAmount) + " watched of " + amt
	}
	hops := make([]string, 0, len(a.Path)+1)
	for i, h := range a.Path {
		if i == 0 {
			hops = append(hops, Short(h.From))
		}
		hops = append(hops, Short(h.To))
	}
	return fmt.Sprintf("%s: %s in tx %s (block %d), path %s (%d hop(s))",
		strings.ToUpper(string(a.State)), amt, a.Tx, a.Block, strings.Join(hops, " → "),
		len(a.Path))
}
