package ethereum

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/flowwatch/flowwatch/chains"
)

var _ chains.TraceTransferSource = (*Source)(nil)

// ErrNoTraceFilter is returned by TraceTransfers when the node has no trace_filter
// (geth; Erigon, Nethermind, Reth and Anvil have it): the caller scans blocks instead.
var ErrNoTraceFilter = errors.New("the node has no trace_filter")

// parityTrace is one element of a trace_filter or trace_transaction result (the Parity
// trace format).
type parityTrace struct {
	Action struct {
		From          *address     `json:"from"`
		To            *address     `json:"to"`
		CallType      string       `json:"callType"`
		Value         *bigQuantity `json:"value"`
		Address       *address     `json:"address"`       // suicide: the contract
		RefundAddress *address     `json:"refundAddress"` // suicide: the beneficiary
		Balance       *bigQuantity `json:"balance"`       // suicide: what it moved
	} `json:"action"`
	Result *struct {
		Address *address `json:"address"` // create: the contract made
	} `json:"result"`
	Error        string  `json:"error"`
	BlockHash    *hash   `json:"blockHash"`
	BlockNumber  *uint64 `json:"blockNumber"`
	TxHash       *hash   `json:"transactionHash"`
	TxPosition   *uint64 `json:"transactionPosition"`
	TraceAddress []int   `json:"traceAddress"`
	Type         string  `json:"type"`
}

// path is the trace's position under its transaction's top call: "" for the top call,
// "0_1" for calls[0].calls[1], as block extraction names internal transfers.
func (t *parityTrace) path() string {
	parts := make([]string, len(t.TraceAddress))
	for i, n := range t.TraceAddress {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, "_")
}

// decodeTraces decodes a trace_filter or trace_transaction result, checking what a
// movement needs of each transaction's trace (rewards, with no transaction, are kept out).
func decodeParityTraces(raw json.RawMessage) ([]parityTrace, error) {
	var all []parityTrace
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, fmt.Errorf("decode traces: %w", err)
	}
	out := all[:0]
	for i := range all {
		t := &all[i]
		if t.TxHash == nil {
			continue // a block or uncle reward: no movement
		}
		if t.BlockNumber == nil || t.BlockHash == nil || t.TxPosition == nil {
			return nil, fmt.Errorf("decode traces: trace %d lacks its block or position", i)
		}
		for _, n := range t.TraceAddress {
			if n < 0 {
				return nil, fmt.Errorf("decode traces: trace %d: negative trace address", i)
			}
		}
		out = append(out, *t)
	}
	return out, nil
}

// TraceTransfers returns the native and internal transfers of blocks from..to that any
// of senders sent or any of receivers received, as movements in chain order, each once,
// with block times: trace_filter finds the traces (in parts the node takes, as
// TransferLogs does), and each transaction found is traced whole (trace_transaction) so
// that a frame under a failed one, or in a failed transaction, moves nothing, as block
// extraction has it. A node without trace_filter gives ErrNoTraceFilter.
func (s *Source) TraceTransfers(ctx context.Context, from, to uint64, senders,
	receivers []string) ([]chains.Movement, error) {
	if from > to {
		return nil, fmt.Errorf("traces: empty range %d..%d", from, to)
	}
	found, err := bySide(senders, receivers, func(side int, addrs []string) (
		[]parityTrace, error) {
		key := [2]string{"fromAddress", "toAddress"}[side]
		return inParts(s, &s.traceSpan, "traces", from, to,
			func(lo, hi uint64) ([]parityTrace, error) {
				return s.traceFilter(ctx, lo, hi, key, addrs)
			})
	})
	if err != nil {
		return nil, err
	}
	var txs []string
	traced := map[string]bool{}
	for i := range found {
		if tx := string(*found[i].TxHash); !traced[tx] {
			traced[tx] = true
			txs = append(txs, tx)
		}
	}
	whole, err := s.traceTransactions(ctx, txs)
	if err != nil {
		return nil, err
	}
	times := map[uint64]time.Time{}
	var blocks []uint64
	for i := range found {
		blocks = append(blocks, *found[i].BlockNumber)
	}
	if err := s.headerTimes(ctx, blocks, times); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []chains.Movement
	for i := range found {
		t := &found[i]
		key := string(*t.TxHash) + "/" + t.path()
		if seen[key] {
			continue
		}
		seen[key] = true
		m, ok, err := traceMovement(t, whole[string(*t.TxHash)])
		if err != nil {
			return nil, fmt.Errorf("block %d: tx %s: %w", *t.BlockNumber, *t.TxHash, err)
		}
		if !ok {
			continue
		}
		m.Chain, m.Tx, m.TxIndex = s.opts.Chain, string(*t.TxHash), uint(*t.TxPosition)
		m.Block = chains.BlockRef{Number: *t.BlockNumber, Hash: string(*t.BlockHash),
			Time: times[*t.BlockNumber]}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b chains.Movement) int {
		return cmp.Or(cmp.Compare(a.Block.Number, b.Block.Number),
			cmp.Compare(a.TxIndex, b.TxIndex), chains.ComparePositions(a.Position, b.Position))
	})
	return out, nil
}

// traceMovement is the movement trace t makes, if any, given its transaction's whole
// trace: a value-carrying call, create or suicide whose frame and callers all succeeded.
func traceMovement(t *parityTrace, whole []parityTrace) (chains.Movement, bool, error) {
	for i := range whole { // t, or a caller of t, failed
		w := &whole[i]
		if w.Error != "" && len(w.TraceAddress) <= len(t.TraceAddress) &&
			slices.Equal(w.TraceAddress, t.TraceAddress[:len(w.TraceAddress)]) {
			return chains.Movement{}, false, nil
		}
	}
	var from, to *address
	var value *bigQuantity
	switch t.Type {
	case "call":
		if !strings.EqualFold(t.Action.CallType, "call") {
			return chains.Movement{}, false, nil // delegatecall, staticcall, callcode
		}
		from, to, value = t.Action.From, t.Action.To, t.Action.Value
	case "create":
		from, value = t.Action.From, t.Action.Value
		if t.Result != nil {
			to = t.Result.Address
		}
	case "suicide":
		from, to, value = t.Action.Address, t.Action.RefundAddress, t.Action.Balance
	default:
		return chains.Movement{}, false, nil
	}
	if value == nil || value.Sign() <= 0 {
		return chains.Movement{}, false, nil
	}
	path := t.path()
	if from == nil || to == nil {
		return chains.Movement{}, false, fmt.Errorf("trace %q: a %s with value but without "+
			"from or to", path, t.Type)
	}
	if t.Type == "suicide" && *from == *to {
		return chains.Movement{}, false, nil // no one receives anything
	}
	pos, kind := chains.PositionTx, chains.KindNative
	if len(t.TraceAddress) > 0 {
		pos, kind = "trace:"+path, chains.KindInternal
	}
	return transfer(chains.Movement{}, pos, kind, string(*from), string(*to),
		chains.AssetNative, &value.Int), true, nil
}

// traceFilter asks trace_filter for the traces of blocks from..to whose key (fromAddress
// or toAddress) is one of addrs.
func (s *Source) traceFilter(ctx context.Context, from, to uint64, key string,
	addrs []string) ([]parityTrace, error) {
	var out []parityTrace
	err := s.retry(ctx, func(ctx context.Context) error {
		var raw json.RawMessage
		filter := map[string]any{"fromBlock": hexutil.EncodeUint64(from),
			"toBlock": hexutil.EncodeUint64(to), key: addrs}
		err := s.client.CallContext(ctx, &raw, "trace_filter", filter)
		switch {
		case err != nil && isMethodNotFound(err):
			return permanent(fmt.Errorf("%w: %v", ErrNoTraceFilter, err))
		case err != nil && isRangeRefused(err):
			return permanent(err) // split, not retried
		case err != nil:
			return err
		}
		out, err = decodeParityTraces(raw)
		return err
	})
	return out, err
}

// traceTransactions traces each of txs whole, BatchSize calls per JSON-RPC batch.
func (s *Source) traceTransactions(ctx context.Context, txs []string) (
	map[string][]parityTrace, error) {
	out := make(map[string][]parityTrace, len(txs))
	err := s.batched(ctx, "trace_transaction", len(txs), func(i int) []any {
		return []any{txs[i]}
	}, func(i int, raw json.RawMessage) error {
		ts, err := decodeParityTraces(raw)
		if err != nil {
			return fmt.Errorf("trace_transaction %s: %w", txs[i], err)
		}
		out[txs[i]] = ts
		return nil
	})
	return out, err
}

// batched calls method n times, with args(i) for the i-th call, BatchSize calls per
// JSON-RPC batch (a failed batch is tried again), and hands each result to use in order.
func (s *Source) batched(ctx context.Context, method string, n int, args func(int) []any,
	use func(int, json.RawMessage) error) error {
	size := max(s.BatchSize(), 1)
	for lo := 0; lo < n; lo += size {
		hi := min(lo+size, n)
		err := s.retry(ctx, func(ctx context.Context) error {
			raws := make([]json.RawMessage, hi-lo)
			batch := make([]rpc.BatchElem, hi-lo)
			for i := range batch {
				batch[i] = rpc.BatchElem{Method: method, Args: args(lo + i), Result: &raws[i]}
			}
			if err := s.client.BatchCallContext(ctx, batch); err != nil {
				return err
			}
			for i := range batch {
				if batch[i].Error != nil {
					return fmt.Errorf("%s %v: %w", method, batch[i].Args, batch[i].Error)
				}
				if err := use(lo+i, raws[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
