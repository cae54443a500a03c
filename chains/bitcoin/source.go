package bitcoin

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/chains"
)

var _ chains.Source = (*Source)(nil)

// Defaults for Options.
const (
	// DefaultOutputCache is how many recent outputs are kept to resolve inputs without
	// asking the node.
	DefaultOutputCache = 1 << 20
)

// Options configure a Source.
type Options struct {
	// Chain names the chain in movements; default "bitcoin".
	Chain string
	// Network is mainnet, testnet, signet, regtest or simnet; default mainnet.
	Network string
	// OutputCache bounds the cache of recent outputs; < 0: none.
	OutputCache int
	// Certificates (PEM) are trusted for an https URL, for btcd's self-signed RPC
	// certificate; nil: the system's roots.
	Certificates []byte
	Logger       *zap.Logger
}

func (o *Options) setDefaults() {
	if o.Chain == "" {
		o.Chain = "bitcoin"
	}
	if o.Network == "" {
		o.Network = "mainnet"
	}
	if o.OutputCache == 0 {
		o.OutputCache = DefaultOutputCache
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
}

// Validate reports the first invalid option, naming it.
func (o *Options) Validate() error {
	_, err := chains.BitcoinParams(o.Network)
	return err
}

// caller makes JSON-RPC calls; params are marshalled to JSON. CallBatch sends one call of
// method per element of params in one request and returns a result or an error for each.
type caller interface {
	Call(ctx context.Context, method string, params ...any) (json.RawMessage, error)
	CallBatch(ctx context.Context, method string, params [][]any) ([]json.RawMessage, []error,
		error)
}

// Source reads blocks from a btcd or bitcoind node.
type Source struct {
	rpc       caller
	params    *chaincfg.Params
	opts      Options
	verbosity int // of getblock: 3 when the node resolves prevouts itself, else 2
	log       *zap.Logger

	mu      sync.Mutex
	outputs map[outpoint]output // recent outputs, bounded by opts.OutputCache
}

// New returns a source over rpc after checking that the node can resolve prevouts: by
// getblock verbosity 3 (bitcoind 23 and later) or by getrawtransaction (the transaction
// index). A node that can do neither is an error.
func New(ctx context.Context, rpc caller, opts Options) (*Source, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	params, _ := chains.BitcoinParams(opts.Network)
	s := &Source{rpc: rpc, params: params, opts: opts, verbosity: 2,
		log:     opts.Logger.With(zap.String("chain", opts.Chain)),
		outputs: map[outpoint]output{}}
	var info struct {
		Version    int    `json:"version"`
		Subversion string `json:"subversion"`
	}
	raw, err := rpc.Call(ctx, "getnetworkinfo") // btcd has none: a node of another kind
	if err == nil {
		if err := json.Unmarshal(raw, &info); err != nil {
			return nil, fmt.Errorf("getnetworkinfo: %w", err)
		}
	} else if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if strings.Contains(info.Subversion, "Satoshi") && info.Version >= 230000 {
		s.verbosity = 3
		s.log.Info("prevouts from getblock verbosity 3", zap.String("node", info.Subversion))
		return s, nil
	}
	// Ask for a transaction that does not exist: the error says whether the node has a
	// transaction index to look the others up in.
	_, err = rpc.Call(ctx, "getrawtransaction", strings.Repeat("0", 64), 1)
	if err == nil || isNoSuchTx(err) {
		s.log.Info("prevouts from getrawtransaction", zap.String("node", info.Subversion))
		return s, nil
	}
	return nil, fmt.Errorf("node %s cannot resolve inputs to the outputs they spend: it has "+
		"no getblock verbosity 3 (bitcoind 23 or later) and no transaction index for "+
		"getrawtransaction (start it with txindex=1, or btcd with --txindex): %w",
		info.Subversion, err)
}

// isNoSuchTx: the node looked the transaction up in its index and found nothing (bitcoind
// with txindex; btcd with --txindex), rather than having no index to look in.
func isNoSuchTx(err error) bool {
	s := err.Error()
	return !strings.Contains(s, "txindex") && (strings.Contains(s, "No such mempool or "+
		"blockchain transaction") || strings.Contains(s, "No information available about "+
		"transaction"))
}

// Close releases the connection to the node.
func (s *Source) Close() {
	if c, ok := s.rpc.(interface{ Close() }); ok {
		c.Close()
	}
}

// Head implements chains.Source.
func (s *Source) Head(ctx context.Context) (uint64, error) {
	raw, err := s.rpc.Call(ctx, "getblockcount")
	if err != nil {
		return 0, fmt.Errorf("getblockcount: %w", err)
	}
	n, err := strconv.ParseUint(string(raw), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("getblockcount: %q is not a block number", raw)
	}
	return n, nil
}

func (s *Source) blockHash(ctx context.Context, n uint64) (string, error) {
	raw, err := s.rpc.Call(ctx, "getblockhash", n)
	if err != nil {
		if strings.Contains(err.Error(), "out of range") {
			return "", fmt.Errorf("block %d: %w", n, chains.ErrBlockNotFound)
		}
		return "", fmt.Errorf("getblockhash %d: %w", n, err)
	}
	var h string
	if err := json.Unmarshal(raw, &h); err != nil || len(h) != 64 {
		return "", fmt.Errorf("getblockhash %d: bad hash %q", n, raw)
	}
	return h, nil
}

// Ref implements chains.Source.
func (s *Source) Ref(ctx context.Context, n uint64) (chains.BlockRef, error) {
	h, err := s.blockHash(ctx, n)
	if err != nil {
		return chains.BlockRef{}, err
	}
	ref, err := s.header(ctx, h)
	if err != nil {
		return chains.BlockRef{}, fmt.Errorf("block %d: %w", n, err)
	}
	if ref.Number != n {
		return chains.BlockRef{}, fmt.Errorf("getblockheader %d: the node sent block %d", n,
			ref.Number)
	}
	return ref, nil
}

// Block implements chains.Source.
func (s *Source) Block(ctx context.Context, n uint64) (*chains.Block, error) {
	h, err := s.blockHash(ctx, n)
	if err != nil {
		return nil, err
	}
	raw, err := s.rpc.Call(ctx, "getblock", h, s.verbosity)
	if err != nil {
		return nil, fmt.Errorf("getblock %d: %w", n, err)
	}
	b, err := decodeBlock(raw, s.opts.Chain, s.params, func(spends []outpoint) (
		map[outpoint]output, error) {
		return s.resolve(ctx, spends)
	})
	if err != nil {
		return nil, fmt.Errorf("block %d: %w", n, err)
	}
	if b.Ref.Number != n {
		return nil, fmt.Errorf("getblock %d: the node sent block %d", n, b.Ref.Number)
	}
	s.remember(b)
	return b, nil
}

// remember caches a block's outputs, which later blocks spend.
func (s *Source) remember(b *chains.Block) {
	if s.opts.OutputCache < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range b.Movements {
		m := &b.Movements[i]
		if len(s.outputs)+len(m.Outputs) > s.opts.OutputCache {
			clear(s.outputs) // bounded: start again; the node has the rest
		}
		for _, o := range m.Outputs {
			s.outputs[outpoint{Tx: m.Tx, Index: o.Index}] = output{Address: o.Address,
				Value: o.Amount.Int64(), ScriptType: o.ScriptType}
		}
	}
}

// resolve finds the outputs that spends name: from the cache, else by one batch of
// getrawtransaction calls, one per transaction.
func (s *Source) resolve(ctx context.Context, spends []outpoint) (map[outpoint]output, error) {
	out := make(map[outpoint]output, len(spends))
	need := map[string]bool{}
	s.mu.Lock()
	for _, op := range spends {
		if o, ok := s.outputs[op]; ok {
			out[op] = o
		} else {
			need[op.Tx] = true
		}
	}
	s.mu.Unlock()
	txids := make([]string, 0, len(need))
	for txid := range need {
		txids = append(txids, txid)
	}
	if len(txids) == 0 {
		return out, nil
	}
	params := make([][]any, len(txids))
	for i, txid := range txids {
		params[i] = []any{txid, 1}
	}
	res, errs, err := s.rpc.CallBatch(ctx, "getrawtransaction", params)
	if err != nil {
		return nil, fmt.Errorf("getrawtransaction ×%d: %w", len(txids), err)
	}
	for i, txid := range txids {
		if errs[i] != nil {
			return nil, fmt.Errorf("getrawtransaction %s: %w", txid, errs[i])
		}
		outs, err := s.decodeOutputs(txid, res[i])
		if err != nil {
			return nil, err
		}
		for _, op := range spends {
			if op.Tx != txid {
				continue
			}
			o, ok := outs[op.Index]
			if !ok {
				return nil, fmt.Errorf("transaction %s has no output %d", txid, op.Index)
			}
			out[op] = o
		}
	}
	return out, nil
}

// decodeOutputs decodes a getrawtransaction result's outputs by index.
func (s *Source) decodeOutputs(txid string, raw json.RawMessage) (map[uint32]output, error) {
	var tx rpcTx
	if err := json.Unmarshal(raw, &tx); err != nil {
		return nil, fmt.Errorf("getrawtransaction %s: %w", txid, err)
	}
	outs := make(map[uint32]output, len(tx.Vout))
	for j := range tx.Vout {
		o, err := decodeOutput(&tx.Vout[j], s.params)
		if err != nil {
			return nil, fmt.Errorf("getrawtransaction %s output %d: %w", txid, j, err)
		}
		idx := uint32(j)
		if tx.Vout[j].N != nil {
			idx = *tx.Vout[j].N
		}
		outs[idx] = o
	}
	return outs, nil
}
