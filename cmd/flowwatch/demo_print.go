package main

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/common"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains"
)

// readable prints alerts for people: what, how much, from whom to where, and the path.
type readable struct {
	mu  sync.Mutex
	w   io.Writer
	sc  *scenario
	btc *btcScenario // nil: no Bitcoin leg
}

func (r *readable) Notify(_ context.Context, alerts ...alerting.Alert) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range alerts {
		unit, decimals, name := "ETH", 18, func(addr string) (string, string) {
			a := common.HexToAddress(addr)
			return short(a), r.sc.label(a)
		}
		if a.Chain == demoBitcoinChain && r.btc != nil {
			unit, decimals = "BTC", 8
			name = func(addr string) (string, string) { return addr[:10] + "…", r.btc.label(addr) }
		}
		amount, _ := new(big.Int).SetString(a.Amount, 10)
		what := a.Destination.Category
		if a.Destination.Evidence != "" {
			what += ", inferred from tx " + a.Destination.Evidence[:10] + "…"
		}
		fmt.Fprintf(r.w, "ALERT %-8s %s: %s %s from %s reached %s (%s) in %d hops\n",
			a.Severity, a.Rule, chains.FormatUnits(amount, decimals), unit, a.Source.Entity,
			a.Destination.Entity, what, len(a.Path))
		for i, h := range a.Path {
			v, _ := new(big.Int).SetString(h.Amount, 10)
			if i == 0 {
				s, l := name(h.From)
				fmt.Fprintf(r.w, "      %s %s\n", s, l)
			}
			s, l := name(h.To)
			fmt.Fprintf(r.w, "   -> %s %-28s %s %s, block %d, tx %s…\n", s, l,
				chains.FormatUnits(v, decimals), unit, h.Block, h.Tx[:10])
		}
		fmt.Fprintln(r.w)
	}
	return false, nil
}

func short(a common.Address) string { h := a.Hex(); return h[:8] + "…" }
