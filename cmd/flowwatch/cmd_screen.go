package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/watcher/api"
	"github.com/flowwatch/flowwatch/watcher/config"
	"github.com/flowwatch/flowwatch/watcher/deposit"
)

func runScreen(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const synopsis = "screen --config FILE --chain NAME [--json] ADDRESS...\n" +
		"       screen --config FILE --chain NAME --tx HASH [--json] ADDRESS\n\n" +
		"Screens addresses as the API does (GET /v1/addresses): risk level, designations,\n" +
		"labels and exposure, from the config's lists and the taint store in its Redis.\n" +
		"With --tx, screens what that transaction paid the address, as POST /v1/deposits\n" +
		"does, looking it up on the chain's node."
	fs := newFlagSet("screen", synopsis, stderr)
	path := fs.String("config", "", "config `file`")
	chain := fs.String("chain", "", "the addresses' chain, as the config names it")
	asJSON := fs.Bool("json", false, "print the reports as JSON, one per line")
	tx := fs.String("tx", "", "screen the deposit of transaction `hash` to the address")
	var addrs []string
	rest := args
	for { // flags before or after the addresses
		if code, ok := parseFlagsArgs(fs, rest, stdout); !ok {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		addrs, rest = append(addrs, fs.Arg(0)), fs.Args()[1:]
	}
	switch {
	case *path == "":
		return usageError(stderr, "screen", "--config is required")
	case *chain == "":
		return usageError(stderr, "screen", "--chain is required")
	case len(addrs) == 0:
		return usageError(stderr, "screen", "want one or more addresses")
	case *tx != "" && len(addrs) != 1:
		return usageError(stderr, "screen", "--tx screens a deposit to one address")
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return fail(stderr, "screen", err)
	}
	lists, _, err := loadLists(cfg, nil)
	if err != nil {
		return fail(stderr, "screen", err)
	}
	s := &system{log: zap.NewNop()}
	defer s.close()
	rdb, store, err := s.stateStore(ctx, cfg)
	if err != nil {
		return fail(stderr, "screen", err)
	}
	reg := deposit.NewRegistry(rdb, redisPrefix(cfg))
	if err := reg.Sync(ctx); err != nil {
		return fail(stderr, "screen", err)
	}
	cs := map[string]api.Chain{}
	for _, ch := range cfg.Chains {
		cs[ch.Name] = api.Chain{Family: ch.Family, Network: ch.Network}
	}
	screen, err := api.NewScreener(cs, lists, store, reg, cfg.API.Risk, nil)
	if err != nil {
		return fail(stderr, "screen", err)
	}
	if *tx != "" {
		return screenDeposit(ctx, s, cfg, rdb, screen, *chain, *tx, addrs[0], *asJSON, stdout,
			stderr)
	}
	reports, err := screen.Screen(ctx, *chain, addrs...)
	if err != nil {
		return fail(stderr, "screen", err)
	}
	for _, r := range reports {
		if *asJSON {
			b, _ := json.Marshal(r)
			fmt.Fprintln(stdout, string(b))
			continue
		}
		fmt.Fprintf(stdout, "%s %s: %s\n", r.Chain, r.Address, strings.ToUpper(r.Risk))
		for _, why := range r.Reasons {
			fmt.Fprintf(stdout, "  %s\n", why)
		}
		if r.Registered != nil {
			fmt.Fprintf(stdout, "  registered deposit address of customer %s\n",
				r.Registered.Customer)
		}
	}
	return exitOK
}

// screenDeposit prints what tx paid addr on chain, looked up on the chain's node.
func screenDeposit(ctx context.Context, s *system, cfg *config.Config,
	rdb redis.UniversalClient, screen *api.Screener, chain, tx, addr string, asJSON bool,
	stdout, stderr io.Writer) int {
	for _, ch := range cfg.Chains {
		if ch.Name != chain {
			continue
		}
		src, err := s.source(ctx, ch, zap.NewNop())
		if err != nil {
			return fail(stderr, "screen", err)
		}
		s.addNode(chain, src)
	}
	var alerts api.AlertFinder
	if rdb != nil {
		alerts = alerting.NewTxIndex(alerting.NewRedisJournal(rdb, redisPrefix(cfg), nil))
	}
	r, err := api.NewDeposits(screen, s.nodes, alerts).Screen(ctx, chain, tx, addr)
	if err != nil {
		return fail(stderr, "screen", err)
	}
	if asJSON {
		b, _ := json.Marshal(r)
		fmt.Fprintln(stdout, string(b))
		return exitOK
	}
	where := "pending"
	if r.Block != nil {
		where = fmt.Sprintf("in block %d, %d confirmation(s)", r.Block.Number, r.Confirmations)
	}
	fmt.Fprintf(stdout, "%s %s: deposit %s (%s): %s\n", r.Chain, r.Address, r.Tx, where,
		strings.ToUpper(r.Risk))
	for _, p := range r.Received {
		fmt.Fprintf(stdout, "  received %s %s (%s)\n", p.Amount, p.Asset, p.Position)
	}
	for _, why := range r.Reasons {
		fmt.Fprintf(stdout, "  %s\n", why)
	}
	for _, a := range r.Alerts {
		fmt.Fprintf(stdout, "  alert %s: rule %s, %s, %s\n", a.ID, a.Rule, a.Severity, a.State)
	}
	if r.Partial {
		fmt.Fprintln(stdout, "  pending: only its own value is known until it is mined")
	}
	if r.Registered != nil {
		fmt.Fprintf(stdout, "  registered deposit address of customer %s\n",
			r.Registered.Customer)
	}
	return exitOK
}
