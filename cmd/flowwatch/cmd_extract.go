package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/bitcoin"
	"github.com/flowwatch/flowwatch/chains/ethereum"
)

const (
	defaultConcurrency = chains.DefaultInflight
	outputBufferSize   = 256 << 10
)

var chainName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

func runExtract(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const synopsis = "extract --chain NAME --rpc URL --from N [--to M] [--traces auto|on|off]\n" +
		"        [--network mainnet|testnet|signet|regtest|simnet]\n\n" +
		"Writes the movements of blocks N..M (M defaults to the node's head) to stdout as\n" +
		"JSON Lines in block order: on EVM chains (ethereum, or any other name) one object\n" +
		"per transfer; on bitcoin (btcd or bitcoind, http://user:pass@host:port) one object\n" +
		"per transaction, with inputs resolved to the outputs they spend."
	fs := newFlagSet("extract", synopsis, stderr)
	var (
		chain = fs.String("chain", "ethereum",
			"chain `name`; any name but bitcoin is an EVM chain")
		network = fs.String("network", "mainnet",
			"bitcoin `network`: mainnet, testnet, signet, regtest or simnet")
		rpcURL = fs.String("rpc", "", "node JSON-RPC `URL` (http, https, ws, wss)")
		from   = fs.Uint64("from", 0, "first block")
		to     = fs.String("to", "head", "last block `number`, or head")
		traces = fs.String("traces", string(ethereum.TracesAuto),
			"internal transfers from debug_traceBlockByNumber: auto, on or off")
		concurrency = fs.Int("concurrency", defaultConcurrency, "blocks fetched at once")
		batch       = fs.Int("batch", ethereum.DefaultBatchSize,
			"calls per JSON-RPC batch for per-transaction receipts")
		retries = fs.Int("retries", ethereum.DefaultRetries,
			"tries again after a transient failure")
	)
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	fromSet := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "from" {
			fromSet = true
		}
	})
	switch {
	case *rpcURL == "":
		return usageError(stderr, "extract", "--rpc is required")
	case !fromSet:
		return usageError(stderr, "extract", "--from is required")
	case !chainName.MatchString(*chain):
		return usageError(stderr, "extract",
			"--chain %q: want lower-case letters, digits, - and _", *chain)
	case *retries < 0:
		return usageError(stderr, "extract", "--retries %d: want 0 or more", *retries)
	case *concurrency < 1:
		return usageError(stderr, "extract", "--concurrency %d: want at least 1", *concurrency)
	}
	var last uint64
	if *to != "head" {
		n, err := strconv.ParseUint(*to, 10, 64)
		if err != nil {
			return usageError(stderr, "extract", "--to %q: want a block number or head", *to)
		}
		if n < *from {
			return usageError(stderr, "extract", "--to %d is before --from %d", n, *from)
		}
		last = n
	}
	mode, err := ethereum.ParseTraceMode(*traces)
	if err != nil {
		return usageError(stderr, "extract", "--%v", err)
	}
	if *retries == 0 {
		*retries = -1 // Options reads 0 as "default"
	}
	if _, err := chains.BitcoinParams(*network); err != nil {
		return usageError(stderr, "extract", "--network: %v", err)
	}
	log := newLogger(stderr, zap.InfoLevel, false)
	defer func() { _ = log.Sync() }()
	var src interface {
		chains.Source
		Close()
	}
	if *chain == "bitcoin" {
		src, err = bitcoin.Dial(ctx, *rpcURL, bitcoin.Options{Chain: *chain, Network: *network,
			Logger: log})
	} else {
		src, err = ethereum.Dial(ctx, *rpcURL, ethereum.Options{Chain: *chain, Traces: mode,
			BatchSize: *batch, Retries: *retries, Logger: log})
	}
	if err != nil {
		return fail(stderr, "extract", err)
	}
	defer src.Close()
	if *to == "head" {
		if last, err = src.Head(ctx); err != nil {
			return fail(stderr, "extract", err)
		}
		if last < *from {
			return usageError(stderr, "extract", "--from %d is past the node's head %d", *from, last)
		}
	}
	if err := extract(ctx, src, *from, last, *concurrency, stdout, stderr); err != nil {
		return fail(stderr, "extract", err)
	}
	return exitOK
}

// extract streams blocks from..to to w as JSONL.
func extract(ctx context.Context, src chains.Source, from, to uint64, concurrency int,
	w, stderr io.Writer) error {
	out := bufio.NewWriterSize(w, outputBufferSize)
	bar := newProgress(stderr, to-from+1, time.Now)
	var buf []byte
	err := chains.Stream(ctx, src, from, to, concurrency, func(b *chains.Block) error {
		for i := range b.Movements {
			if b.Movements[i].Kind == chains.KindEvent {
				continue // a recognized log, not a movement of value
			}
			var err error
			if buf, err = chains.AppendJSONL(buf[:0], &b.Movements[i]); err != nil {
				return fmt.Errorf("block %d: %w", b.Ref.Number, err)
			}
			if _, err := out.Write(buf); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
		bar.add(1)
		return nil
	})
	bar.finish()
	if ferr := out.Flush(); ferr != nil && err == nil {
		err = fmt.Errorf("write: %w", ferr)
	}
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted")
	}
	return err
}
