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
// (searchrawtransactions, paged), then the headers of the blocks they are in and the
// transaction order of those in the range, one JSON-RPC batch each.
func (s *Source) AddressTxs(ctx context.Context, from, to uint64, addrs []string) (
	[]chains.Movement, error) {
	type found struct {
		tx  rpcTx
		ref chains.BlockRef
	}
	var all []rpcTxInBlock
	seen := map[string]bool{} // transactions and blocks
	var hashes []string
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
				seen[t.Txid] = true
				all = append(all, t)
				if !seen[t.BlockHash] {
					seen[t.BlockHash] = true
					hashes = append(hashes, t.BlockHash)
				}
			}
			if len(page) < searchPage {
				break
			}
		}
	}
	refs, err := s.headers(ctx, hashes)
	if err != nil {
		return nil, err
	}
	var txs []found
	for _, t := range all {
		if ref := refs[t.BlockHash]; ref.Number >= from && ref.Number <= to {
			txs = append(txs, found{t.rpcTx, ref})
		}
	}
	var inRange []string
	for _, h := range hashes {
		if ref := refs[h]; ref.Number >= from && ref.Number <= to {
			inRange = append(inRange, h)
		}
	}
	order, err := s.blockOrders(ctx, inRange)
	if err != nil {
		return nil, err
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

// headers returns the identities of the blocks with the given hashes, from one batch of
// getblockheader calls.
func (s *Source) headers(ctx context.Context, hashes []string) (map[string]chains.BlockRef,
	error) {
	out := make(map[string]chains.BlockRef, len(hashes))
	if len(hashes) == 0 {
		return out, nil
	}
	params := make([][]any, len(hashes))
	for i, h := range hashes {
		params[i] = []any{h, true}
	}
	res, errs, err := s.rpc.CallBatch(ctx, "getblockheader", params)
	if err != nil {
		return nil, fmt.Errorf("getblockheader ×%d: %w", len(hashes), err)
	}
	for i, h := range hashes {
		if errs[i] != nil {
			return nil, fmt.Errorf("getblockheader %s: %w", h, errs[i])
		}
		ref, err := decodeBlockRef(h, res[i])
		if err != nil {
			return nil, err
		}
		out[h] = ref
	}
	return out, nil
}

// blockOrders returns the position of each transaction in its block, for the blocks with
// the given hashes, from one batch of getblock calls (verbosity 1: the transaction ids).
func (s *Source) blockOrders(ctx context.Context, hashes []string) (map[string]int, error) {
	order := map[string]int{}
	if len(hashes) == 0 {
		return order, nil
	}
	params := make([][]any, len(hashes))
	for i, h := range hashes {
		params[i] = []any{h, 1}
	}
	res, errs, err := s.rpc.CallBatch(ctx, "getblock", params)
	if err != nil {
		return nil, fmt.Errorf("getblock ×%d: %w", len(hashes), err)
	}
	for i, h := range hashes {
		var b struct {
			Tx []string `json:"tx"`
		}
		if errs[i] == nil {
			errs[i] = json.Unmarshal(res[i], &b)
		}
		if errs[i] != nil {
			return nil, fmt.Errorf("getblock %s: %w", h, errs[i])
		}
		for j, txid := range b.Tx {
			order[txid] = j
		}
	}
	return order, nil
}
