package bitcoin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/flowwatch/flowwatch/chains"
)

var _ chains.TxSource = (*Source)(nil)

// rpcTxInBlock is a verbose getrawtransaction result: the transaction and, once mined,
// its block.
type rpcTxInBlock struct {
	rpcTx
	BlockHash string `json:"blockhash"`
}

// Tx implements chains.TxSource with getrawtransaction, which finds mempool transactions
// on any node and mined ones through the transaction index (btcd --txindex, bitcoind
// txindex=1), and getblockheader for the block's height. Its one movement has every input
// resolved to the output it spends, as Block gives it; TxIndex is not known and is 0.
func (s *Source) Tx(ctx context.Context, h string) (*chains.Tx, error) {
	raw, err := s.rpc.Call(ctx, "getrawtransaction", h, 1)
	if err != nil {
		if isNoSuchTx(err) {
			return nil, fmt.Errorf("getrawtransaction %s: %w", h, chains.ErrTxNotFound)
		}
		return nil, fmt.Errorf("getrawtransaction %s: %w", h, err)
	}
	var t rpcTxInBlock
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("getrawtransaction %s: %w", h, err)
	}
	if !strings.EqualFold(t.Txid, h) {
		return nil, fmt.Errorf("getrawtransaction %s: the node sent %q", h, t.Txid)
	}
	missing := t.appendMissing(nil)
	var resolved map[outpoint]output
	if len(missing) > 0 {
		if resolved, err = s.resolve(ctx, missing); err != nil {
			return nil, fmt.Errorf("transaction %s: resolve prevouts: %w", h, err)
		}
	}
	m, err := decodeTx(&t.rpcTx, s.params, resolved)
	if err != nil {
		return nil, fmt.Errorf("transaction %s: %w", h, err)
	}
	m.Chain = s.opts.Chain
	out := &chains.Tx{Hash: m.Tx}
	if t.BlockHash != "" {
		ref, err := s.header(ctx, t.BlockHash)
		if err != nil {
			return nil, fmt.Errorf("transaction %s: %w", h, err)
		}
		out.Mined, out.Block, m.Block = true, ref, ref
	}
	out.Movements = []chains.Movement{m}
	return out, nil
}

// header returns the identity of the block with hash h.
func (s *Source) header(ctx context.Context, h string) (chains.BlockRef, error) {
	raw, err := s.rpc.Call(ctx, "getblockheader", h, true)
	if err != nil {
		return chains.BlockRef{}, fmt.Errorf("getblockheader %s: %w", h, err)
	}
	return decodeBlockRef(h, raw)
}

// decodeBlockRef decodes a verbose getblockheader result for the block with hash h.
func decodeBlockRef(h string, raw json.RawMessage) (chains.BlockRef, error) {
	var b rpcBlock
	if err := json.Unmarshal(raw, &b); err != nil || b.Height == nil || b.Time == nil ||
		!strings.EqualFold(b.Hash, h) {
		return chains.BlockRef{}, fmt.Errorf("getblockheader %s: malformed header", h)
	}
	return chains.BlockRef{Number: *b.Height, Hash: strings.ToLower(b.Hash),
		ParentHash: strings.ToLower(b.PreviousHash), Time: unixUTC(*b.Time)}, nil
}
