package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/bitcoin"
	"github.com/flowwatch/flowwatch/chains/ethereum"
	"github.com/flowwatch/flowwatch/configs"
	"github.com/flowwatch/flowwatch/watcher/config"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/replay"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

// replayChain is what a replay knows of its chain.
type replayChain struct {
	name     string
	chainID  uint64 // EVM: its EIP-155 id, for its tokens; 0: not known
	caCert   string
	family   chains.Family
	network  string
	rpc      string
	explorer string
	lists    *watchlist.Lists
}

// resolveChain reads the config (or the bundled lists) for the chain's lists, node and
// explorer.
func (a *replayArgs) resolveChain(stderr io.Writer) (*replayChain, error) {
	ch := &replayChain{name: a.chain, family: chains.FamilyEVM, network: a.network,
		rpc: a.rpc, caCert: a.caCert, explorer: cmp.Or(a.explorer, chains.Explorer(a.chain)),
		chainID: chains.ChainID(a.chain)}
	if a.chain == "bitcoin" {
		ch.family = chains.FamilyBitcoin
	}
	var cfg *config.Config
	var lfs iofs.FS = configs.Lists
	if a.config != "" {
		var err error
		if cfg, err = config.Load(a.config); err != nil {
			return nil, err
		}
		c, ok := cfg.Chain(a.chain)
		if !ok {
			return nil, fmt.Errorf("--chain %s: not in %s", a.chain, a.config)
		}
		ch.family, ch.network = c.Family, c.Network
		if c.ChainID != 0 {
			ch.chainID = c.ChainID
		}
		if ch.caCert == "" {
			ch.caCert = c.CACert
		}
		if ch.rpc == "" && len(c.RPC) > 0 {
			ch.rpc = c.RPC[0]
		}
		if a.explorer == "" && c.Explorer != "" {
			ch.explorer = c.Explorer
		}
		lfs = nil
	} else {
		cfg = &config.Config{Chains: []config.Chain{{Name: ch.name, Family: ch.family,
			Network: ch.network}}, Lists: bundledLists()}
	}
	lists, rejected, err := loadLists(cfg, lfs)
	if err != nil {
		return nil, err
	}
	if len(rejected) > 0 {
		fmt.Fprintf(stderr, "flowwatch replay: %d entries of the lists skipped as malformed "+
			"(flowwatch lists inspect names them)\n", len(rejected))
	}
	for _, path := range a.lists {
		if err := addListFile(lists, path, chainInfo(cfg), stderr); err != nil {
			return nil, err
		}
	}
	ch.lists = lists
	return ch, nil
}

// addListFile loads a list file named by --list into lists; each malformed line is
// reported with its file and line, and the rest is loaded.
func addListFile(lists *watchlist.Lists, path string, info watchlist.ChainInfo,
	stderr io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--list: %w", err)
	}
	defer f.Close()
	entries, bad, err := watchlist.ReadFile(path, f, info)
	if err != nil {
		return fmt.Errorf("--list: %w", err)
	}
	for i := range bad {
		fmt.Fprintf(stderr, "flowwatch replay: skipped: %v\n", &bad[i])
	}
	for _, e := range entries {
		if _, _, ok := info(e.Chain); ok {
			lists.Add(e)
		}
	}
	return nil
}

// bundledLists are the lists the example config names, bundled in the binary.
func bundledLists() []config.List {
	var out []config.List
	for _, p := range []string{"sdn_advanced_2025-11-19_digital_currency_excerpt.xml",
		"tagpack-lazarus.yaml", "tagpack-lazarus2.yaml", "tagpack-ronin_bridge.yaml",
		"tagpack-ransomware.yaml", "tornado-cash.csv", "labels-ethereum.csv"} {
		out = append(out, config.List{Path: "lists/" + p})
	}
	return out
}

// replayNode replays a range of a node's chain.
func replayNode(ctx context.Context, a *replayArgs, stdout, stderr io.Writer) int {
	ch, err := a.resolveChain(stderr)
	if err != nil {
		return fail(stderr, "replay", err)
	}
	var sources []string
	for _, s := range a.addrs {
		n, err := chains.NormalizeAddress(ch.family, ch.network, s)
		if err != nil {
			return usageError(stderr, "replay", "--address %s: %v", s, err)
		}
		sources = append(sources, n)
	}
	if a.movements != "" {
		return replayFile(ctx, a, ch, sources, stdout, stderr)
	}
	log := newLogger(stderr, zap.WarnLevel, false)
	defer func() { _ = log.Sync() }()
	var src interface {
		chains.Source
		Close()
	}
	if ch.family == chains.FamilyBitcoin {
		var certs []byte
		if ch.caCert != "" {
			if certs, err = os.ReadFile(ch.caCert); err != nil {
				return fail(stderr, "replay", fmt.Errorf("--ca-cert: %w", err))
			}
		}
		src, err = bitcoin.Dial(ctx, ch.rpc, bitcoin.Options{Chain: ch.name,
			Network: ch.network, Certificates: certs, Logger: log})
	} else {
		mode, _ := ethereum.ParseTraceMode(a.traces)
		src, err = ethereum.Dial(ctx, ch.rpc, ethereum.Options{Chain: ch.name,
			Traces: mode, Logger: log})
	}
	if err != nil {
		return fail(stderr, "replay", err)
	}
	defer src.Close()
	if (a.method == methodLogs || a.method == methodTraces) && ch.family != chains.FamilyEVM {
		return usageError(stderr, "replay", "--method %s: only on EVM chains", a.method)
	}
	if a.method == methodIndex && ch.family != chains.FamilyBitcoin {
		return usageError(stderr, "replay", "--method index: only on Bitcoin")
	}
	return replayRange(ctx, a, ch, src, sources, stdout, stderr)
}

// replayRange replays a's range of src's chain from sources and writes the reports.
func replayRange(ctx context.Context, a *replayArgs, ch *replayChain, src chains.Source,
	sources []string, stdout, stderr io.Writer) int {
	head, err := src.Head(ctx)
	if err != nil {
		return fail(stderr, "replay", err)
	}
	to := head
	if a.to != "head" {
		to, _ = strconv.ParseUint(a.to, 10, 64)
		if to > head {
			return usageError(stderr, "replay", "--to %d is past the node's head %d", to, head)
		}
	}
	if a.from > to {
		return usageError(stderr, "replay", "--from %d is past the node's head %d", a.from, to)
	}
	r, err := newReplayer(a, ch, sources, to)
	if err != nil {
		return fail(stderr, "replay", err)
	}
	bar := newProgress(stderr, to-a.from+1, time.Now)
	var cache *replay.Cache
	scan := func() (replay.History, error) {
		blocks := src
		if !a.noCache {
			cache, err = openCache(ctx, a.cacheDir, ch.name, src, head, a.cacheDepth)
			if err != nil {
				return nil, err
			}
			blocks = cache
		}
		return &replay.Scan{Source: blocks, Inflight: a.concurrency, Progress: bar.add}, nil
	}
	var h replay.History
	receivers := a.model != rules.ModelPoison
	index, indexed := src.(replay.AddressTxs)
	evm, isEVM := src.(*ethereum.Source)
	switch {
	case a.method == methodLogs:
		h = &replay.Logs{Node: evm, Receivers: receivers, Progress: bar.add}
	case isEVM && (a.method == methodTraces || a.method == methodAuto):
		h = &replay.Traces{Node: evm, Receivers: receivers, Progress: bar.add}
	case indexed && (a.method == methodIndex || a.method == methodAuto):
		h = &replay.AddrIndex{Node: index, Progress: bar.add}
	default:
		if h, err = scan(); err != nil {
			return fail(stderr, "replay", err)
		}
	}
	start := time.Now()
	err = h.Replay(ctx, a.from, to, r)
	if a.method == methodAuto && r.Stats().Judged == 0 {
		var lacks string
		switch {
		case errors.Is(err, bitcoin.ErrNoAddrIndex):
			lacks = "no address index (btcd --addrindex)"
		case errors.Is(err, ethereum.ErrNoTraceFilter):
			lacks = "no trace_filter"
		}
		if lacks != "" {
			fmt.Fprintf(stderr, "flowwatch replay: the node has %s: scanning every block\n",
				lacks)
			if h, err = scan(); err != nil {
				return fail(stderr, "replay", err)
			}
			err = h.Replay(ctx, a.from, to, r)
		}
	}
	bar.finish()
	if errors.Is(err, context.Canceled) {
		return fail(stderr, "replay", errors.New("interrupted"))
	}
	if err != nil {
		return fail(stderr, "replay", err)
	}
	note := ""
	if cache != nil {
		cs := cache.Stats()
		note = fmt.Sprintf("; block cache: %d hits, %d fetched", cs.Hits, cs.Misses)
	}
	return finish(ctx, a, ch, r, to, time.Since(start), note, stdout, stderr)
}

// newReplayer makes the Replayer of a's flags over blocks a.from..to of ch from sources.
func newReplayer(a *replayArgs, ch *replayChain, sources []string, to uint64) (
	*replay.Replayer, error) {
	asOf, _ := parseAsOf(a.asOf)
	tokens, err := bundledTokens(ch.chainID)
	if err != nil {
		return nil, err
	}
	return replay.New(ch.lists, replay.Options{Chain: ch.name, Sources: sources,
		From: a.from, To: to, Hops: a.hops, Model: a.model, AsOf: asOf,
		Deposits: &deposit.Options{}, Explorer: ch.explorer, Tokens: tokens})
}

// finish prints what the replay found and writes its reports.
func finish(ctx context.Context, a *replayArgs, ch *replayChain, r *replay.Replayer,
	to uint64, elapsed time.Duration, note string, stdout, stderr io.Writer) int {
	rep := r.Report()
	st := r.Stats()
	fmt.Fprintf(stdout, "replayed %s blocks %d..%d (%d blocks, %d movements judged) in %s%s",
		ch.name, a.from, to, to-a.from+1, st.Judged, elapsed.Round(time.Millisecond), note)
	fmt.Fprintf(stdout, "\n%d addresses, %d transfers of watched funds", len(rep.Nodes),
		len(rep.Edges))
	if st.Capped > 0 {
		fmt.Fprintf(stdout, "; %d addresses not followed (cap of %d per source)", st.Capped,
			replay.DefaultMaxTracked)
	}
	fmt.Fprintln(stdout)
	for _, t := range rep.Totals {
		fmt.Fprintf(stdout, "  reached %s (%s) %s: %s\n", t.Entity, t.Category,
			t.Destination, rep.Amount(t.Asset, t.Tainted))
	}
	return writeReports(ctx, a.outs, rep, stdout, stderr)
}

// replayFile replays a's range of the movements in the file --movements names (what
// `flowwatch extract` wrote): no node needed.
func replayFile(ctx context.Context, a *replayArgs, ch *replayChain, sources []string,
	stdout, stderr io.Writer) int {
	f, err := os.Open(a.movements)
	if err != nil {
		return fail(stderr, "replay", fmt.Errorf("--movements: %w", err))
	}
	defer f.Close()
	limit := uint64(math.MaxUint64)
	if a.to != "head" {
		limit, _ = strconv.ParseUint(a.to, 10, 64)
	}
	var ms replay.Movements
	var last uint64
	err = chains.ReadJSONL(f, func(m *chains.Movement) error {
		switch n := m.Block.Number; {
		case m.Chain != ch.name:
			return fmt.Errorf("chain %q: the replay is of %s (--chain)", m.Chain, ch.name)
		case n < last:
			return fmt.Errorf("block %d after block %d: want the chain's order", n, last)
		case n >= a.from && n <= limit:
			ms = append(ms, *m)
		}
		last = m.Block.Number
		return nil
	})
	if err != nil {
		return fail(stderr, "replay", fmt.Errorf("%s: %w", a.movements, err))
	}
	to := min(limit, last)
	if a.from > to {
		return usageError(stderr, "replay", "--from %d is past the file's last block %d",
			a.from, to)
	}
	r, err := newReplayer(a, ch, sources, to)
	if err != nil {
		return fail(stderr, "replay", err)
	}
	start := time.Now()
	if err := ms.Replay(ctx, a.from, to, r); err != nil {
		return fail(stderr, "replay", err)
	}
	return finish(ctx, a, ch, r, to, time.Since(start), "", stdout, stderr)
}

// bundledTokens are the bundled token list's tokens of the chain with EIP-155 id chainID.
func bundledTokens(chainID uint64) (map[string]replay.Token, error) {
	list, bad, err := watchlist.ReadTokens("configs/tokens/tokens.csv",
		bytes.NewReader(configs.Tokens))
	if err == nil && len(bad) > 0 {
		err = &bad[0]
	}
	if err != nil {
		return nil, fmt.Errorf("bundled token list: %w", err)
	}
	out := map[string]replay.Token{}
	for _, t := range list {
		if t.ChainID == chainID {
			out[t.Address] = replay.Token{Symbol: t.Symbol, Decimals: t.Decimals}
		}
	}
	return out, nil
}

// writeReports renders rep to each file; one that fails does not keep the others.
func writeReports(ctx context.Context, outs []string, rep *replay.Report, stdout,
	stderr io.Writer) int {
	code := exitOK
	for _, o := range outs {
		var b bytes.Buffer
		err := replay.Render(ctx, &b, rep, outFormat(o))
		if err == nil {
			err = os.WriteFile(o, b.Bytes(), 0o644)
		}
		if err != nil {
			code = fail(stderr, "replay", fmt.Errorf("%s: %w", o, err))
			continue
		}
		fmt.Fprintf(stdout, "wrote %s\n", o)
	}
	return code
}

// openCache opens the block cache of the chain src serves, in a directory named by the
// chain and its genesis block's hash.
func openCache(ctx context.Context, dir, chain string, src chains.Source, head uint64,
	depth int64) (*replay.Cache, error) {
	g, err := src.Ref(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("genesis block: %w", err)
	}
	id := strings.TrimPrefix(g.Hash, "0x")
	if len(id) > 16 {
		id = id[:16]
	}
	if depth == 0 {
		depth = -1 // CacheOptions' "any block"
	}
	return replay.OpenCache(src, replay.CacheOptions{
		Dir: filepath.Join(dir, chain+"-"+id), Head: head, Depth: depth})
}
