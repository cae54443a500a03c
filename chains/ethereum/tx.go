package ethereum

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/flowwatch/flowwatch/chains"
)

var _ chains.TxSource = (*Source)(nil)

// rpcTxByHash is the part of an eth_getTransactionByHash result that flowwatch reads: the
// transaction, and the block it is in (null while pending).
type rpcTxByHash struct {
	rpcTx
	BlockHash   *hash     `json:"blockHash"`
	BlockNumber *quantity `json:"blockNumber"`
}

// decodeTxByHash decodes and checks an eth_getTransactionByHash result. A JSON null is
// errNull.
func decodeTxByHash(raw json.RawMessage) (*rpcTxByHash, error) {
	if isNull(raw) {
		return nil, errNull
	}
	var t rpcTxByHash
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, err
	}
	switch {
	case t.Hash == "":
		return nil, errors.New("missing hash")
	case t.From == "":
		return nil, errors.New("missing from")
	case t.Value == nil:
		return nil, errors.New("missing value")
	case (t.BlockNumber == nil) != (t.BlockHash == nil):
		return nil, errors.New("blockNumber and blockHash: one without the other")
	}
	return &t, nil
}

// Tx implements chains.TxSource. A mined transaction's movements are those Block gives of
// its block (the same extraction, traces included), so they match what the pipeline saw;
// a pending one has only its own value.
func (s *Source) Tx(ctx context.Context, h string) (*chains.Tx, error) {
	// A reorg between the lookup and the block fetch moves the transaction: look again.
	const tries = 3
	for i := 0; ; i++ {
		tx, err := s.tx(ctx, h)
		if !errors.Is(err, errMoved) || i == tries-1 {
			return tx, err
		}
	}
}

var errMoved = errors.New("the transaction left its block while being read (a reorg)")

func (s *Source) tx(ctx context.Context, h string) (*chains.Tx, error) {
	var t *rpcTxByHash
	err := s.retry(ctx, func(ctx context.Context) error {
		var raw json.RawMessage
		if err := s.client.CallContext(ctx, &raw, "eth_getTransactionByHash", h); err != nil {
			return err
		}
		var err error
		if t, err = decodeTxByHash(raw); errors.Is(err, errNull) {
			return permanent(chains.ErrTxNotFound)
		} else if err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		if string(t.Hash) != h {
			return fmt.Errorf("node sent transaction %s", t.Hash)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("eth_getTransactionByHash %s: %w", h, err)
	}
	out := &chains.Tx{Hash: h}
	if t.BlockNumber == nil {
		out.Partial = true
		if t.To != nil && t.Value.Sign() > 0 && *t.To != t.From {
			base := chains.Movement{Chain: s.opts.Chain, Tx: h}
			out.Movements = append(out.Movements, transfer(base, chains.PositionTx,
				chains.KindNative, string(t.From), string(*t.To), chains.AssetNative,
				&t.Value.Int))
		}
		return out, nil
	}
	b, err := s.Block(ctx, uint64(*t.BlockNumber))
	if err != nil {
		return nil, fmt.Errorf("transaction %s: %w", h, err)
	}
	if b.Ref.Hash != string(*t.BlockHash) {
		return nil, fmt.Errorf("transaction %s: %w", h, errMoved)
	}
	out.Mined, out.Block = true, b.Ref
	for _, m := range b.Movements {
		if m.Tx == h {
			out.Movements = append(out.Movements, m)
		}
	}
	return out, nil
}
