package ethereum

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/chains"
)

var _ chains.Source = (*Source)(nil)

// Source reads an EVM chain's movements from a JSON-RPC node. It is safe for concurrent use.
type Source struct {
	client *rpc.Client
	opts   Options
	log    *zap.Logger

	noBlockReceipts atomic.Bool // the node lacks eth_getBlockReceipts
	noTraces        atomic.Bool // the node lacks debug_traceBlockByNumber (auto mode)
	// batch is the receipts fallback's batch size: BatchSize, halved each time the node
	// refuses a batch as too large, down to 1.
	batch atomic.Int64
	// logSpan is the widest block range an eth_getLogs asks for: 0 (any) until the node
	// refuses one, then halved at each refusal.
	logSpan atomic.Uint64
	// traceSpan is logSpan for trace_filter.
	traceSpan atomic.Uint64
}

// Dial connects to a node's JSON-RPC endpoint (http(s):// or ws(s)://).
func Dial(ctx context.Context, url string, opts Options) (*Source, error) {
	c, err := rpc.DialContext(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", redactURL(url), err)
	}
	s, err := New(c, opts)
	if err != nil {
		c.Close()
		return nil, err
	}
	if s.opts.ChainID != 0 {
		if err := s.checkChain(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("%s: %w", redactURL(url), err)
		}
	}
	return s, nil
}

// ErrWrongChain is returned by Dial for a node of another chain than Options.ChainID.
var ErrWrongChain = errors.New("the node serves another chain")

// checkChain asks the node its chain id (eth_chainId, retried like any call) and compares
// it with the one configured.
func (s *Source) checkChain(ctx context.Context) error {
	var id quantity
	err := s.retry(ctx, func(ctx context.Context) error {
		var raw json.RawMessage
		if err := s.client.CallContext(ctx, &raw, "eth_chainId"); err != nil {
			return err
		}
		return json.Unmarshal(raw, &id)
	})
	if err != nil {
		return fmt.Errorf("eth_chainId: %w", err)
	}
	if uint64(id) != s.opts.ChainID {
		return fmt.Errorf("%w: chain id %d, want %d", ErrWrongChain, uint64(id),
			s.opts.ChainID)
	}
	return nil
}

// New returns a Source over an existing client. Close closes the client.
func New(c *rpc.Client, opts Options) (*Source, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	s := &Source{
		client: c,
		opts:   opts,
		log:    opts.Logger.With(zap.String("chain", opts.Chain)),
	}
	s.batch.Store(int64(opts.BatchSize))
	return s, nil
}

// Close closes the underlying client.
func (s *Source) Close() { s.client.Close() }

// TracesUsed reports whether the source currently asks for traces.
func (s *Source) TracesUsed() bool {
	return s.opts.Traces != TracesOff && !s.noTraces.Load()
}

// Head returns the newest block number from eth_blockNumber.
func (s *Source) Head(ctx context.Context) (uint64, error) {
	var head quantity
	err := s.retry(ctx, func(ctx context.Context) error {
		var raw json.RawMessage
		if err := s.client.CallContext(ctx, &raw, "eth_blockNumber"); err != nil {
			return err
		}
		return json.Unmarshal(raw, &head)
	})
	if err != nil {
		return 0, fmt.Errorf("eth_blockNumber: %w", err)
	}
	return uint64(head), nil
}

// Block fetches block n's body, receipts and (per the trace mode) traces, in one JSON-RPC
// batch, and returns its movements. It retries what may be transient and returns an error
// naming the block otherwise; a block the node does not have wraps chains.ErrBlockNotFound.
func (s *Source) Block(ctx context.Context, n uint64) (*chains.Block, error) {
	var b *chains.Block
	err := s.retry(ctx, func(ctx context.Context) error {
		d, err := s.fetch(ctx, n)
		if err != nil {
			return err
		}
		b, err = d.movements(s.opts.Chain)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("block %d: %w", n, err)
	}
	return b, nil
}

// Ref returns block n's identity from eth_getBlockByNumber(n, false).
func (s *Source) Ref(ctx context.Context, n uint64) (chains.BlockRef, error) {
	var ref chains.BlockRef
	err := s.retry(ctx, func(ctx context.Context) error {
		var raw json.RawMessage
		err := s.client.CallContext(ctx, &raw, "eth_getBlockByNumber",
			hexutil.EncodeUint64(n), false)
		if err != nil {
			return fmt.Errorf("block %d: %w", n, err)
		}
		ref, err = refOf(n, raw)
		return err
	})
	return ref, err
}

// refOf decodes an eth_getBlockByNumber(n, false) result into block n's identity; null is
// chains.ErrBlockNotFound. Errors name the block.
func refOf(n uint64, raw json.RawMessage) (chains.BlockRef, error) {
	h, err := decodeHeader(raw)
	switch {
	case errors.Is(err, errNull):
		return chains.BlockRef{}, fmt.Errorf("block %d: %w", n, chains.ErrBlockNotFound)
	case err != nil:
		return chains.BlockRef{}, fmt.Errorf("block %d: decode header: %w", n, err)
	case uint64(*h.Number) != n:
		return chains.BlockRef{}, fmt.Errorf("block %d: node sent block %d", n,
			uint64(*h.Number))
	}
	return chains.BlockRef{Number: n, Hash: string(h.Hash), ParentHash: string(h.ParentHash),
		Time: time.Unix(int64(*h.Timestamp), 0).UTC()}, nil
}

func (s *Source) retry(ctx context.Context, f func(context.Context) error) error {
	return withRetry(ctx, s.opts.Retries, s.opts.MinBackoff, s.opts.MaxBackoff,
		func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
			defer cancel()
			err := f(ctx)
			if err != nil && retryable(err) {
				s.log.Debug("retrying", zap.Error(err))
			}
			return err
		})
}

// fetch makes one try at block n's data.
func (s *Source) fetch(ctx context.Context, n uint64) (*blockData, error) {
	num := hexutil.EncodeUint64(n)
	var blockRaw, receiptsRaw, tracesRaw json.RawMessage
	batch := []rpc.BatchElem{{Method: "eth_getBlockByNumber", Args: []any{num, true},
		Result: &blockRaw}}
	wantReceipts := !s.noBlockReceipts.Load()
	if wantReceipts {
		batch = append(batch, rpc.BatchElem{Method: "eth_getBlockReceipts", Args: []any{num},
			Result: &receiptsRaw})
	}
	// The genesis block has no transactions (its allocations are not movements), and geth
	// refuses to trace it.
	wantTraces := s.TracesUsed() && n > 0
	if wantTraces {
		batch = append(batch, rpc.BatchElem{Method: "debug_traceBlockByNumber",
			Args:   []any{num, map[string]any{"tracer": "callTracer", "timeout": DefaultTraceTime}},
			Result: &tracesRaw})
	}
	if err := s.client.BatchCallContext(ctx, batch); err != nil {
		return nil, err
	}
	if err := batch[0].Error; err != nil {
		return nil, fmt.Errorf("eth_getBlockByNumber: %w", err)
	}
	blk, err := decodeBlock(blockRaw)
	if errors.Is(err, errNull) {
		return nil, chains.ErrBlockNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("decode block: %w", err)
	}
	if uint64(*blk.Number) != n {
		return nil, fmt.Errorf("node sent block %d", uint64(*blk.Number))
	}
	d := &blockData{Block: blk}
	if wantReceipts {
		d.Receipts, err = s.blockReceipts(batch[1].Error, receiptsRaw)
		if err != nil {
			return nil, err
		}
	}
	if d.Receipts == nil {
		if d.Receipts, err = s.txReceipts(ctx, blk); err != nil {
			return nil, err
		}
	}
	if wantTraces {
		if d.Traces, err = s.traces(batch[len(batch)-1].Error, tracesRaw); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// blockReceipts interprets the eth_getBlockReceipts answer. It returns nil receipts and no
// error when the node lacks the method, which switches the source to per-transaction
// receipts for good.
func (s *Source) blockReceipts(callErr error, raw json.RawMessage) ([]rpcReceipt, error) {
	if callErr != nil {
		if isMethodNotFound(callErr) {
			if !s.noBlockReceipts.Swap(true) {
				s.log.Info("node lacks eth_getBlockReceipts; using eth_getTransactionReceipt")
			}
			return nil, nil
		}
		return nil, fmt.Errorf("eth_getBlockReceipts: %w", callErr)
	}
	rs, err := decodeReceipts(raw)
	if errors.Is(err, errNull) {
		return nil, errors.New("eth_getBlockReceipts: null for a block the node has")
	}
	if err != nil {
		return nil, fmt.Errorf("decode receipts: %w", err)
	}
	return rs, nil
}

// txReceipts fetches each transaction's receipt with batched eth_getTransactionReceipt.
func (s *Source) txReceipts(ctx context.Context, blk *rpcBlock) ([]rpcReceipt, error) {
	txs := blk.Transactions
	out := make([]rpcReceipt, len(txs))
	raws := make([]json.RawMessage, len(txs))
	for start := 0; start < len(txs); {
		size := int(s.batch.Load())
		end := min(start+size, len(txs))
		batch := make([]rpc.BatchElem, 0, end-start)
		for i := start; i < end; i++ {
			batch = append(batch, rpc.BatchElem{Method: "eth_getTransactionReceipt",
				Args: []any{string(txs[i].Hash)}, Result: &raws[i]})
		}
		if err := s.client.BatchCallContext(ctx, batch); err != nil {
			if isBatchLimit(err) && size > 1 {
				s.batch.CompareAndSwap(int64(size), int64(size/2))
				s.log.Info("the node refused a batch as too large: smaller batches",
					zap.Int("was", size), zap.Int("now", size/2), zap.Error(err))
				continue
			}
			return nil, err
		}
		for j, el := range batch {
			i := start + j
			if el.Error != nil {
				return nil, fmt.Errorf("eth_getTransactionReceipt %s: %w", txs[i].Hash, el.Error)
			}
			r, err := decodeReceipt(raws[i])
			if errors.Is(err, errNull) {
				return nil, fmt.Errorf("no receipt for tx %s", txs[i].Hash)
			}
			if err != nil {
				return nil, fmt.Errorf("decode receipt of tx %s: %w", txs[i].Hash, err)
			}
			out[i] = *r
		}
		start = end
	}
	return out, nil
}

// BatchSize is the receipts fallback's batch size now (see Options.BatchSize).
func (s *Source) BatchSize() int { return int(s.batch.Load()) }

// traces interprets the debug_traceBlockByNumber answer. In auto mode a node without the
// method switches traces off for good and says so once.
func (s *Source) traces(callErr error, raw json.RawMessage) ([]txTrace, error) {
	if callErr != nil {
		if isMethodNotFound(callErr) {
			if s.opts.Traces == TracesOn {
				return nil, permanent(fmt.Errorf("traces on, but the node has no "+
					"debug_traceBlockByNumber: %w", callErr))
			}
			if !s.noTraces.Swap(true) {
				s.log.Warn("node has no debug_traceBlockByNumber: internal transfers " +
					"(value moved by contracts) will be missing; use a node with the " +
					"debug API, or --traces off to silence this")
			}
			return nil, nil
		}
		return nil, fmt.Errorf("debug_traceBlockByNumber: %w", callErr)
	}
	ts, err := decodeTraces(raw)
	if errors.Is(err, errNull) {
		return nil, errors.New("debug_traceBlockByNumber: null")
	}
	if err != nil {
		return nil, fmt.Errorf("decode traces: %w", err)
	}
	return ts, nil
}
