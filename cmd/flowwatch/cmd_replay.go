package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowwatch/flowwatch/chains/ethereum"
	"github.com/flowwatch/flowwatch/watcher/replay"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// Replay history methods (--method).
const (
	methodAuto   = "auto"   // traces (EVM) or index (Bitcoin) where the node can; else scan
	methodScan   = "scan"   // every block
	methodTraces = "traces" // EVM: trace_filter and eth_getLogs for the followed addresses
	methodLogs   = "logs"   // EVM: the followed addresses' ERC-20 logs only
	methodIndex  = "index"  // Bitcoin: btcd's address index
)

// stringsFlag is a flag that may be given several times.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

// replayArgs are replay's parsed flags.
type replayArgs struct {
	chain, network, rpc, config, model, method, asOf, explorer, cacheDir, to string
	caCert, traces, movements                                                string
	addrs, outs, lists                                                       stringsFlag
	from                                                                     uint64
	hops, concurrency                                                        int
	cacheDepth                                                               int64
	noCache, demo                                                            bool
}

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const synopsis = "replay --rpc URL --chain NAME --address A [--address B...] --from N\n" +
		"        [--to M] --out FILE.{json,csv,dot,svg,html} [--out FILE...] [--hops K]\n" +
		"        [--model poison|haircut|fifo] [--as-of DATE] [--config FILE]\n" +
		"        [--method auto|scan|traces|logs|index]\n" +
		"       replay --demo --out FILE.html\n\n" +
		"Follows the funds out of the given addresses through blocks N..M with the rules\n" +
		"engine's taint model and budgets, and writes where they went: JSON (nodes, edges,\n" +
		"totals), CSV (one edge per row), Graphviz DOT, SVG (needs Graphviz's dot) or one\n" +
		"self-contained HTML report with the graph, totals per exchange, mixer and bridge, and\n" +
		"a table of hops. Labels and designations are those of the config's lists (or the\n" +
		"bundled ones) as they were at each transfer, or --as-of a date. --method logs asks an\n" +
		"EVM node for the followed addresses' ERC-20 transfers only (eth_getLogs), not every\n" +
		"block: fast over long ranges, blind to native coin. By default (auto) a node with\n" +
		"trace_filter (Erigon, Nethermind, Reth, Anvil) is asked for the followed addresses'\n" +
		"transfers (traces), and btcd for its address index (--addrindex) (index); other nodes\n" +
		"are scanned block by block (scan), and the blocks fetched are cached on disk. --demo\n" +
		"plays the demo's laundering scenario on an in-process chain and replays it: no node\n" +
		"needed."
	fs := newFlagSet("replay", synopsis, stderr)
	var a replayArgs
	fs.StringVar(&a.chain, "chain", "ethereum", "chain `name`; bitcoin, or any EVM chain")
	fs.StringVar(&a.network, "network", "mainnet", "bitcoin `network`")
	fs.StringVar(&a.rpc, "rpc", "", "node JSON-RPC `URL` (default: the config's chain's first)")
	fs.StringVar(&a.config, "config", "", "config `file` whose lists, chain and explorer to use")
	fs.Var(&a.addrs, "address", "an `address` whose funds to follow (repeatable)")
	fs.Uint64Var(&a.from, "from", 0, "first block")
	fs.StringVar(&a.to, "to", "head", "last block `number`, or head")
	fs.IntVar(&a.hops, "hops", replay.DefaultHops, "how many hops to follow")
	fs.StringVar(&a.model, "model", rules.ModelPoison, "taint `model`: poison, haircut or fifo")
	fs.StringVar(&a.asOf, "as-of", "",
		"read labels and designations as of `DATE` (2006-01-02 or RFC 3339)")
	fs.Var(&a.outs, "out",
		"write the report to `FILE`; its extension picks the format (repeatable)")
	fs.StringVar(&a.method, "method", methodAuto, "history: auto, scan (every block), "+
		"traces (EVM: trace_filter and logs), logs (EVM: ERC-20 logs only) or index "+
		"(btcd's address index)")
	fs.Var(&a.lists, "list", "also load this list `file` (CSV, TagPack, OFAC XML; repeatable)")
	fs.StringVar(&a.caCert, "ca-cert", "", "trust this PEM `file` for the node's https (btcd)")
	fs.StringVar(&a.traces, "traces", string(ethereum.TracesAuto),
		"internal transfers from debug traces: auto, on or off")
	fs.StringVar(&a.explorer, "explorer", "", "explorer transaction URL `prefix` for links")
	fs.IntVar(&a.concurrency, "concurrency", defaultConcurrency, "blocks fetched at once")
	fs.BoolVar(&a.noCache, "no-cache", false, "neither read nor write the block cache")
	fs.StringVar(&a.cacheDir, "cache-dir", defaultCacheDir(), "block cache `directory`")
	fs.Int64Var(&a.cacheDepth, "cache-depth", replay.DefaultCacheDepth,
		"cache only blocks this many below the head")
	fs.StringVar(&a.movements, "movements", "",
		"replay the movements in `FILE` (what flowwatch extract wrote) instead of a node's")
	fs.BoolVar(&a.demo, "demo", false, "replay the demo scenario on an in-process chain")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	if code, ok := a.check(fs, stderr); !ok {
		return code
	}
	if a.demo {
		return replayDemo(ctx, &a, stdout, stderr)
	}
	return replayNode(ctx, &a, stdout, stderr)
}

// check validates what the flags say alone.
func (a *replayArgs) check(fs *flag.FlagSet, stderr io.Writer) (int, bool) {
	bad := func(format string, v ...any) (int, bool) {
		return usageError(stderr, "replay", format, v...), false
	}
	if len(a.outs) == 0 {
		return bad("--out is required")
	}
	for _, o := range a.outs {
		if !slices.Contains(replay.Formats, outFormat(o)) {
			return bad("--out %q: the extension must be one of .%s", o,
				strings.Join(replay.Formats, ", ."))
		}
	}
	switch a.model {
	case rules.ModelPoison, rules.ModelHaircut, rules.ModelFIFO:
	default:
		return bad("--model %q: want poison, haircut or fifo", a.model)
	}
	switch a.method {
	case methodAuto, methodScan, methodTraces, methodLogs, methodIndex:
	default:
		return bad("--method %q: want auto, scan, traces, logs or index", a.method)
	}
	if a.hops < 1 {
		return bad("--hops %d: want at least 1", a.hops)
	}
	if a.cacheDepth < 0 {
		return bad("--cache-depth %d: want 0 or more", a.cacheDepth)
	}
	if a.concurrency < 1 {
		return bad("--concurrency %d: want at least 1", a.concurrency)
	}
	if _, err := ethereum.ParseTraceMode(a.traces); err != nil {
		return bad("--%v", err)
	}
	if _, err := parseAsOf(a.asOf); err != nil {
		return bad("--as-of: %v", err)
	}
	if a.demo {
		return 0, true
	}
	fromSet := false
	fs.Visit(func(f *flag.Flag) { fromSet = fromSet || f.Name == "from" })
	switch {
	case len(a.addrs) == 0:
		return bad("--address is required")
	case !fromSet:
		return bad("--from is required")
	case a.rpc == "" && a.config == "" && a.movements == "":
		return bad("--rpc (or a --config naming the chain's node, or --movements) is required")
	case !chainName.MatchString(a.chain):
		return bad("--chain %q: want lower-case letters, digits, - and _", a.chain)
	}
	if a.to != "head" {
		n, err := strconv.ParseUint(a.to, 10, 64)
		if err != nil {
			return bad("--to %q: want a block number or head", a.to)
		}
		if n < a.from {
			return bad("--to %d is before --from %d", n, a.from)
		}
	}
	return 0, true
}

// outFormat is the format an output file's extension names.
func outFormat(path string) string {
	return strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
}

// parseAsOf parses --as-of: a date (its start, UTC) or an RFC 3339 time.
func parseAsOf(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want 2006-01-02 or 2006-01-02T15:04:05Z", s)
	}
	return t.UTC(), nil
}

// defaultCacheDir is where fetched blocks are kept: the user's cache directory.
func defaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "flowwatch-blocks")
	}
	return filepath.Join(dir, "flowwatch", "blocks")
}
