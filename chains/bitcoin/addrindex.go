package bitcoin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/flowwatch/flowwatch/chains"
)

// ErrNoAddrIndex is returned by AddressTxs when the node keeps no address index (btcd
// started without --addrindex; bitcoind has none): the caller scans blocks instead.
var ErrNoAddrIndex = errors.New("the node has no address index (btcd --addrindex)")

// searchPage is how many transactions one searchrawtransactions call asks for.
const searchPage = 100

// AddressTxs returns the transactions mined in blocks from..to that pay or spend any of
// addrs, each once, as movements with every input resolved to the output it spends, in
// chain order (block, then position in the block). It asks btcd's address index
// (searchrawtransactions, paged) and, per block touched, its header and transaction order.
func (s *Source) AddressTxs(ctx context.Context, from, to uint64, addrs []string) (
	[]chains.Movement, error) {
	type found struct {
		tx  rpcTx
		ref chains.BlockRef
	}
	var txs []found
	seen := map[string]bool{}
	refs := map[string]chains.BlockRef{}
	for _, a := range addrs {
		for skip := 0; ; skip += searchPage {
			page, err := s.search(ctx, a, skip)
			if err != nil {
				return nil, err
			}
			for _, t := range page {
				if t.BlockHash == "" || seen[t.Txid] { // in the mempool, or seen
					continue
				}
				ref, ok := refs[t.BlockHash]
				if !ok {
					if ref, err = s.header(ctx, t.BlockHash); err != nil {
						return nil, err
					}
					refs[t.BlockHash] = ref
				}
				if ref.Number < from || ref.Number > to {
					continue
				}
				seen[t.Txid] = true
				txs = append(txs, found{t.rpcTx, ref})
			}
			if len(page) < searchPage {
				break
			}
		}
	}
	order := map[string]int{} // txid -> position in its block
	for hash, ref := range refs {
		if ref.Number < from || ref.Number > to {
			continue
		}
		if err := s.blockOrder(ctx, hash, order); err != nil {
			return nil, err
		}
	}
	var missing []outpoint
	for i := range txs {
		missing = txs[i].tx.appendMissing(missing)
	}
	var resolved map[outpoint]output
	if len(missing) > 0 {
		var err error
		if resolved, err = s.resolve(ctx, missing); err != nil {
			return nil, fmt.Errorf("resolve prevouts: %w", err)
		}
	}
	out := make([]chains.Movement, 0, len(txs))
	for i := range txs {
		m, err := decodeTx(&txs[i].tx, s.params, resolved)
		if err != nil {
			return nil, fmt.Errorf("block %d: transaction %s: %w", txs[i].ref.Number,
				txs[i].tx.Txid, err)
		}
		m.Chain, m.Block, m.TxIndex = s.opts.Chain, txs[i].ref, uint(order[txs[i].tx.Txid])
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b chains.Movement) int {
		return cmp.Or(cmp.Compare(a.Block.Number, b.Block.Number),
			cmp.Compare(a.TxIndex, b.TxIndex))
	})
	return out, nil
}

// search asks the address index for a page of addr's transactions, oldest first.
func (s *Source) search(ctx context.Context, addr string, skip int) ([]rpcTxInBlock, error) {
	raw, err := s.rpc.Call(ctx, "searchrawtransactions", addr, 1, skip, searchPage, 0, false)
	if err != nil {
		msg := err.Error()
		switch {
		case strings.Contains(msg, "No information available about address"):
			return nil, nil // an address the chain never saw
		case strings.Contains(strings.ToLower(msg), "address index") ||
			strings.Contains(msg, "addrindex") || strings.Contains(msg, "Method not found"):
			return nil, fmt.Errorf("searchrawtransactions: %w: %v", ErrNoAddrIndex, err)
		}
		return nil, fmt.Errorf("searchrawtransactions %s: %w", addr, err)
	}
	var page []rpcTxInBlock
	if err := json.Unmarshal(raw, &page); err != nil {
		return nil, fmt.Errorf("searchrawtransactions %s: %w", addr, err)
	}
	return page, nil
}

// blockOrder adds the positions of block hash's transactions to order.
func (s *Source) blockOrder(ctx context.Context, hash string, order map[string]int) error {
	raw, err := s.rpc.Call(ctx, "getblock", hash, 1)
	if err != nil {
		return fmt.Errorf("getblock %s: %w", hash, err)
	}
	var b struct {
		Tx []string `json:"tx"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return fmt.Errorf("getblock %s: %w", hash, err)
	}
	for i, txid := range b.Tx {
		order[txid] = i
	}
	return nil
}
