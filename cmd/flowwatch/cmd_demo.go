package main

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/ethereum"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
)

const (
	demoPollInterval = 50 * time.Millisecond
	demoTimeout      = time.Minute
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const synopsis = "demo [--json]\n\n" +
		"Starts an in-process Ethereum dev chain serving JSON-RPC on loopback, plays a\n" +
		"scripted DPRK-style laundering scenario on it (theft, fan-out to fresh wallets,\n" +
		"a Tornado Cash deposit, a peel, an exchange deposit address that sweeps to a\n" +
		"Binance hot wallet) and follows the chain over JSON-RPC as a node client would,\n" +
		"printing every movement as its block appears. Alerts arrive with the watcher."
	fs := newFlagSet("demo", synopsis, stderr)
	asJSON := fs.Bool("json", false, "print movements as extract's JSON Lines")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(ctx, demoTimeout)
	defer cancel()
	chain, err := devnet.Start(devnet.Options{Accounts: demoAccounts, Seed: "flowwatch-demo",
		Alloc: demoAlloc(), Tracers: true})
	if err != nil {
		return fail(stderr, "demo", err)
	}
	defer chain.Close()
	src, err := ethereum.Dial(ctx, chain.URL, ethereum.Options{Chain: "demo",
		Traces: ethereum.TracesOn, Logger: newLogger(stderr, zap.WarnLevel, false)})
	if err != nil {
		return fail(stderr, "demo", err)
	}
	defer src.Close()
	sc := newScenario(chain)
	if !*asJSON {
		fmt.Fprintf(stdout, "flowwatch demo: dev chain at %s; following it over JSON-RPC\n\n",
			chain.URL)
	}
	played := make(chan struct{})
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(played)
		return sc.play(gctx)
	})
	g.Go(func() error { return follow(gctx, src, played, sc, *asJSON, stdout) })
	if err := g.Wait(); err != nil {
		return fail(stderr, "demo", err)
	}
	return exitOK
}

// follow polls the head and prints each new block's movements, until the scenario has
// played and every block it made has been printed.
func follow(ctx context.Context, src *ethereum.Source, played <-chan struct{}, sc *scenario,
	asJSON bool, w io.Writer) error {
	next := uint64(1)
	done := false
	var buf []byte
	for {
		head, err := src.Head(ctx)
		if err != nil {
			return err
		}
		for ; next <= head; next++ {
			b, err := src.Block(ctx, next)
			if err != nil {
				return err
			}
			for i := range b.Movements {
				m := &b.Movements[i]
				if asJSON {
					if buf, err = chains.AppendTransferJSONL(buf[:0], m); err != nil {
						return err
					}
					_, err = w.Write(buf)
				} else {
					_, err = fmt.Fprintln(w, sc.describe(m))
				}
				if err != nil {
					return err
				}
			}
		}
		if done {
			return nil
		}
		select {
		case <-played:
			done = true // one more pass picks up the last blocks
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(demoPollInterval):
		}
	}
}

func (sc *scenario) describe(m *chains.Movement) string {
	from := common.HexToAddress(m.Inputs[0].Address)
	to := common.HexToAddress(m.Outputs[0].Address)
	return fmt.Sprintf("block %-3d %s…  %-8s %10s ETH  %s %s → %s %s", m.Block.Number,
		m.Tx[:10], m.Kind, formatUnits(m.Inputs[0].Amount, 18), short(from), sc.label(from),
		short(to), sc.label(to))
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
