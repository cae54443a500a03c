package main

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum/common"

	"github.com/flowwatch/flowwatch/alerting"
)

// readable prints alerts for people: what, how much, from whom to where, and the path.
type readable struct {
	mu sync.Mutex
	w  io.Writer
	sc *scenario
}

func (r *readable) Notify(_ context.Context, alerts ...alerting.Alert) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range alerts {
		amount, _ := new(big.Int).SetString(a.Amount, 10)
		fmt.Fprintf(r.w, "ALERT %-8s %s: %s ETH from %s reached %s (%s) in %d hops\n",
			a.Severity, a.Rule, formatUnits(amount, 18), a.Source.Entity, a.Destination.Entity,
			a.Destination.Category, len(a.Path))
		for i, h := range a.Path {
			v, _ := new(big.Int).SetString(h.Amount, 10)
			from := common.HexToAddress(h.From)
			if i == 0 {
				fmt.Fprintf(r.w, "      %s %s\n", short(from), r.sc.label(from))
			}
			to := common.HexToAddress(h.To)
			fmt.Fprintf(r.w, "   -> %s %-28s %s ETH, block %d, tx %s…\n", short(to),
				r.sc.label(to), formatUnits(v, 18), h.Block, h.Tx[:10])
		}
		fmt.Fprintln(r.w)
	}
	return false, nil
}

func short(a common.Address) string { h := a.Hex(); return h[:8] + "…" }

// formatUnits writes an integer amount of base units as a decimal with the given number of
// decimals, without trailing zeros (never through floating point).
func formatUnits(v *big.Int, decimals int) string {
	s := new(big.Int).Abs(v).String()
	if len(s) <= decimals {
		s = strings.Repeat("0", decimals-len(s)+1) + s
	}
	whole, frac := s[:len(s)-decimals], strings.TrimRight(s[len(s)-decimals:], "0")
	if v.Sign() < 0 {
		whole = "-" + whole
	}
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}
