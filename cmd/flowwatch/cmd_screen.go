package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/watcher/api"
	"github.com/flowwatch/flowwatch/watcher/config"
	"github.com/flowwatch/flowwatch/watcher/deposit"
)

func runScreen(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const synopsis = "screen --config FILE --chain NAME [--json] ADDRESS...\n\n" +
		"Screens addresses as the API does (GET /v1/addresses): risk level, designations,\n" +
		"labels and exposure, from the config's lists and the taint store in its Redis."
	fs := newFlagSet("screen", synopsis, stderr)
	path := fs.String("config", "", "config `file`")
	chain := fs.String("chain", "", "the addresses' chain, as the config names it")
	asJSON := fs.Bool("json", false, "print the reports as JSON, one per line")
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
