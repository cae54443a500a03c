package ethereum

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/chains"
)

var _ chains.TransferLogSource = (*Source)(nil)

// MaxTopicAddresses is how many addresses one eth_getLogs topic filter names at most;
// more are asked for in several requests (nodes cap a filter's alternatives: geth at 1000).
const MaxTopicAddresses = 500

// codeLimitExceeded is EIP-1474's "limit exceeded", which providers send for a log query
// whose range or result is too large.
const codeLimitExceeded = -32005

// fullLog is a log as eth_getLogs returns it.
type fullLog struct {
	rpcLog
	BlockNumber *quantity `json:"blockNumber"`
	BlockHash   hash      `json:"blockHash"`
	TxHash      hash      `json:"transactionHash"`
	TxIndex     *quantity `json:"transactionIndex"`
	Removed     bool      `json:"removed"`
	// BlockTimestamp is sent by newer nodes (geth 1.16, Erigon 3); without it the block's
	// header is asked for.
	BlockTimestamp *quantity `json:"blockTimestamp"`
}

// decodeLogs decodes an eth_getLogs result, checking what a movement needs of each log.
func decodeLogs(raw json.RawMessage) ([]fullLog, error) {
	var logs []fullLog
	if err := json.Unmarshal(raw, &logs); err != nil {
		return nil, fmt.Errorf("decode logs: %w", err)
	}
	for i := range logs {
		l := &logs[i]
		if l.BlockNumber == nil || l.LogIndex == nil || l.TxIndex == nil || l.TxHash == "" ||
			l.BlockHash == "" {
			return nil, fmt.Errorf("decode logs: log %d lacks its block, transaction or index", i)
		}
	}
	return logs, nil
}

// isRangeRefused says whether the node refused a log query for its block range or the
// size of its result (geth, Erigon, Nethermind, Infura, Alchemy, QuickNode each word it
// their way), so that a smaller range may pass.
func isRangeRefused(err error) bool {
	var rpcErr rpc.Error
	if errors.As(err, &rpcErr) && rpcErr.ErrorCode() == codeLimitExceeded {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"block range", "range too", "range is too", "max range",
		"more than", "too many results", "response size", "results exceed", "query timeout",
		"exceed maximum block range", "range limit"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// TransferLogs returns the ERC-20 transfers of blocks from..to that any of senders sent or
// any of receivers received, as token movements in chain order (block, then log index),
// each once, with its block's time. It asks eth_getLogs with the Transfer topic and the
// addresses as topic filters, and splits a range the node refuses (for its width or its
// result's size) in halves until each part passes; the narrowest range that passed is
// where the next call starts.
func (s *Source) TransferLogs(ctx context.Context, from, to uint64, senders,
	receivers []string) ([]chains.Movement, error) {
	if from > to {
		return nil, fmt.Errorf("logs: empty range %d..%d", from, to)
	}
	logs, err := bySide(senders, receivers, func(side int, addrs []string) ([]fullLog, error) {
		topics := []any{[]string{string(TransferTopic)}, nil, nil}
		topics[side+1] = paddedTopics(addrs)
		return s.logRange(ctx, from, to, topics)
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(logs, func(a, b fullLog) int {
		return cmp.Or(cmp.Compare(*a.BlockNumber, *b.BlockNumber),
			cmp.Compare(*a.LogIndex, *b.LogIndex))
	})
	logs = slices.CompactFunc(logs, func(a, b fullLog) bool {
		return *a.BlockNumber == *b.BlockNumber && *a.LogIndex == *b.LogIndex
	})
	times, err := s.blockTimes(ctx, logs)
	if err != nil {
		return nil, err
	}
	out := make([]chains.Movement, 0, len(logs))
	for i := range logs {
		l := &logs[i]
		if l.Removed {
			continue
		}
		n := uint64(*l.BlockNumber)
		base := chains.Movement{Chain: s.opts.Chain, Tx: string(l.TxHash),
			TxIndex: uint(*l.TxIndex), Block: chains.BlockRef{Number: n,
				Hash: string(l.BlockHash), Time: times[n]}}
		if m, ok := tokenTransfer(base, &l.rpcLog); ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// bySide calls get for the senders (side 0) and the receivers (side 1),
// MaxTopicAddresses of them at a time (nodes cap a filter's alternatives), and gathers
// what it returns.
func bySide[T any](senders, receivers []string, get func(side int, addrs []string) ([]T,
	error)) ([]T, error) {
	var out []T
	for side, addrs := range [2][]string{senders, receivers} {
		for chunk := range slices.Chunk(addrs, MaxTopicAddresses) {
			got, err := get(side, chunk)
			if err != nil {
				return nil, err
			}
			out = append(out, got...)
		}
	}
	return out, nil
}

// paddedTopics are addresses as 32-byte topics.
func paddedTopics(addrs []string) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = "0x000000000000000000000000" + strings.TrimPrefix(a, "0x")
	}
	return out
}

// logRange asks for the logs of from..to matching topics, in parts as wide as the node
// takes.
func (s *Source) logRange(ctx context.Context, from, to uint64, topics []any) (
	[]fullLog, error) {
	return inParts(s, &s.logSpan, "logs", from, to, func(lo, hi uint64) ([]fullLog, error) {
		return s.getLogs(ctx, lo, hi, topics)
	})
}

// inParts calls get over from..to in parts no wider than *span (0: any); a part the node
// refuses for its width or its result's size is halved, and *span with it, until it
// passes. what names the query in errors.
func inParts[T any](s *Source, span *atomic.Uint64, what string, from, to uint64,
	get func(lo, hi uint64) ([]T, error)) ([]T, error) {
	var out []T
	for lo := from; lo <= to; {
		width := span.Load()
		if width == 0 || width > to-lo+1 {
			width = to - lo + 1
		}
		hi := lo + width - 1
		got, err := get(lo, hi)
		if err != nil && isRangeRefused(err) && width > 1 {
			span.Store((width + 1) / 2)
			s.log.Debug("node refused a block range: halving it", zap.String("query", what),
				zap.Uint64("from", lo), zap.Uint64("to", hi), zap.Error(err))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s of blocks %d..%d: %w", what, lo, hi, err)
		}
		out = append(out, got...)
		if hi == to {
			break
		}
		lo = hi + 1
	}
	return out, nil
}

// LogSpan returns the widest block range a log query currently asks for (0: any).
func (s *Source) LogSpan() uint64 { return s.logSpan.Load() }

func (s *Source) getLogs(ctx context.Context, from, to uint64, topics []any) (
	[]fullLog, error) {
	var logs []fullLog
	err := s.retry(ctx, func(ctx context.Context) error {
		var raw json.RawMessage
		filter := map[string]any{"fromBlock": hexutil.EncodeUint64(from),
			"toBlock": hexutil.EncodeUint64(to), "topics": topics}
		err := s.client.CallContext(ctx, &raw, "eth_getLogs", filter)
		if err != nil {
			if isRangeRefused(err) {
				return permanent(err) // split, not retried
			}
			return err
		}
		logs, err = decodeLogs(raw)
		return err
	})
	return logs, err
}

// blockTimes returns the time of each block the logs are in: the logs' own timestamps
// where the node sends them, else the blocks' headers.
func (s *Source) blockTimes(ctx context.Context, logs []fullLog) (map[uint64]time.Time,
	error) {
	times := map[uint64]time.Time{}
	var blocks []uint64
	for i := range logs {
		n := uint64(*logs[i].BlockNumber)
		if ts := logs[i].BlockTimestamp; ts != nil {
			times[n] = time.Unix(int64(*ts), 0).UTC()
			continue
		}
		blocks = append(blocks, n)
	}
	return times, s.headerTimes(ctx, blocks, times)
}

// headerTimes adds to times the time of each of blocks it lacks, from their headers.
func (s *Source) headerTimes(ctx context.Context, blocks []uint64,
	times map[uint64]time.Time) error {
	var need []uint64
	asked := map[uint64]bool{}
	for _, n := range blocks {
		if _, ok := times[n]; !ok && !asked[n] {
			asked[n] = true
			need = append(need, n)
		}
	}
	refs, err := s.refsOf(ctx, need)
	if err != nil {
		return fmt.Errorf("block times: %w", err)
	}
	for _, r := range refs {
		times[r.Number] = r.Time
	}
	return nil
}

// Refs returns the identities of blocks from..to, in order, from batches of headers
// (BatchSize per JSON-RPC batch): what a cache of blocks checks its blocks against. A
// block the node does not have is an error wrapping chains.ErrBlockNotFound.
func (s *Source) Refs(ctx context.Context, from, to uint64) ([]chains.BlockRef, error) {
	if from > to {
		return nil, fmt.Errorf("refs: empty range %d..%d", from, to)
	}
	blocks := make([]uint64, 0, to-from+1)
	for n := from; n <= to; n++ {
		blocks = append(blocks, n)
	}
	return s.refsOf(ctx, blocks)
}

// refsOf returns the identities of blocks, in their order, from batches of
// eth_getBlockByNumber(n, false).
func (s *Source) refsOf(ctx context.Context, blocks []uint64) ([]chains.BlockRef, error) {
	out := make([]chains.BlockRef, len(blocks))
	err := s.batched(ctx, "eth_getBlockByNumber", len(blocks), func(i int) []any {
		return []any{hexutil.EncodeUint64(blocks[i]), false}
	}, func(i int, raw json.RawMessage) (err error) {
		out[i], err = refOf(blocks[i], raw)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
