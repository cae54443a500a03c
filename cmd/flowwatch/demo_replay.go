package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/ethereum"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"go.uber.org/zap"
)

// replayDemo plays the demo's laundering scenario on an in-process chain and replays the
// Lazarus stand-in's funds from the first block to the head.
func replayDemo(ctx context.Context, a *replayArgs, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(ctx, demoTimeout)
	defer cancel()
	c, err := devnet.Start(devnet.Options{Accounts: demoAccounts, Seed: "flowwatch-demo",
		Alloc: demoAlloc(), Tracers: true})
	if err != nil {
		return fail(stderr, "replay", err)
	}
	defer c.Close()
	if err := newScenario(c).play(ctx); err != nil {
		return fail(stderr, "replay", err)
	}
	a.chain, a.rpc, a.config, a.from, a.to = demoChain, c.URL, "", 1, "head"
	ch, err := a.resolveChain(stderr)
	if err != nil {
		return fail(stderr, "replay", err)
	}
	ch.explorer = "" // a dev chain's transactions are on no explorer
	lazarus := strings.ToLower(c.Addrs[roleLazarus].Hex())
	ch.lists.AddSource(demoChain, lazarus, rules.Source{Entity: "Lazarus Group (demo stand-in)",
		Category: "hack", List: "demo"})
	src, err := ethereum.Dial(ctx, c.URL, ethereum.Options{Chain: demoChain,
		Traces: ethereum.TracesOn, Logger: zap.NewNop()})
	if err != nil {
		return fail(stderr, "replay", err)
	}
	defer src.Close()
	fmt.Fprintf(stdout, "flowwatch replay --demo: the demo's scenario played on a dev chain "+
		"at %s;\nreplaying the funds of %s (Lazarus stand-in)\n", c.URL,
		chains.ChecksumEVM(lazarus))
	a.noCache = true // a dev chain lives as long as this command
	return replayRange(ctx, a, ch, src, []string{lazarus}, stdout, stderr)
}
