package ethereum

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/flowwatch/flowwatch/chains"
)

// TransferTopic is topic0 of ERC-20 (and ERC-721) Transfer(address,address,uint256).
const TransferTopic = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"

// blockData is everything fetched for one block. Traces is nil when traces are off or the
// node has none.
type blockData struct {
	Block    *rpcBlock
	Receipts []rpcReceipt
	Traces   []txTrace
}

// movements turns a block's data into movements in block order: by transaction index, then
// the native transfer, the token transfers by log index, the internal transfers by trace
// path, then the deposits recognized in logs that no value movement carries (events.go).
// It checks that receipts and traces belong to the block's transactions.
func (d *blockData) movements(chain string) (*chains.Block, error) {
	b := d.Block
	ref := chains.BlockRef{
		Number:     uint64(*b.Number),
		Hash:       string(b.Hash),
		ParentHash: string(b.ParentHash),
		Time:       time.Unix(int64(*b.Timestamp), 0).UTC(),
	}
	if len(d.Receipts) != len(b.Transactions) {
		return nil, fmt.Errorf("%d receipts for %d transactions", len(d.Receipts),
			len(b.Transactions))
	}
	if d.Traces != nil && len(d.Traces) != len(b.Transactions) {
		return nil, fmt.Errorf("%d traces for %d transactions", len(d.Traces),
			len(b.Transactions))
	}
	out := &chains.Block{Ref: ref}
	for i := range b.Transactions {
		tx := &b.Transactions[i]
		r := &d.Receipts[i]
		if r.TransactionHash != tx.Hash {
			return nil, fmt.Errorf("receipt %d is for tx %s, want %s", i, r.TransactionHash,
				tx.Hash)
		}
		if r.BlockHash != "" && r.BlockHash != b.Hash {
			return nil, fmt.Errorf("receipt %d is from block %s, want %s (reorg while "+
				"fetching?)", i, r.BlockHash, b.Hash)
		}
		var top *callFrame
		if d.Traces != nil {
			t := &d.Traces[i]
			if t.TxHash != nil && *t.TxHash != tx.Hash {
				return nil, fmt.Errorf("trace %d is for tx %s, want %s", i, *t.TxHash, tx.Hash)
			}
			top = t.Result
		}
		base := chains.Movement{Chain: chain, Block: ref, Tx: string(tx.Hash), TxIndex: uint(i)}
		ms, err := txMovements(base, tx, r, top)
		if err != nil {
			return nil, fmt.Errorf("tx %s: %w", tx.Hash, err)
		}
		out.Movements = append(out.Movements, ms...)
	}
	return out, nil
}

func txMovements(base chains.Movement, tx *rpcTx, r *rpcReceipt, top *callFrame) (
	[]chains.Movement, error) {
	ok := succeeded(r, top)
	var out []chains.Movement
	if ok && tx.Value.Sign() > 0 {
		to, err := nativeRecipient(tx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, transfer(base, chains.PositionTx, chains.KindNative, string(tx.From),
			to, chains.AssetNative, &tx.Value.Int))
	}
	for _, l := range r.Logs {
		if m, ok := tokenTransfer(base, &l); ok {
			out = append(out, m)
		}
	}
	if ok && top != nil && top.Error == "" {
		var err error
		out, err = appendInternal(out, base, top.Calls, "")
		if err != nil {
			return nil, err
		}
	}
	if ok {
		out = appendEvents(out, base, string(tx.From), &tx.Value.Int, r.Logs)
	}
	return out, nil
}

// succeeded says whether a transaction's value moved. A receipt with a state root is
// pre-Byzantium and carries no meaningful status: it succeeded unless its trace's top call
// failed, and without a trace it counts as success.
func succeeded(r *rpcReceipt, top *callFrame) bool {
	if r.Root != nil && len(*r.Root) == 32 {
		return top == nil || top.Error == ""
	}
	return r.Status != nil && *r.Status == 1
}

func nativeRecipient(tx *rpcTx, r *rpcReceipt) (string, error) {
	if tx.To != nil {
		return string(*tx.To), nil
	}
	if r.ContractAddress == nil || *r.ContractAddress == "" {
		return "", errors.New("contract creation without contractAddress in its receipt")
	}
	return string(*r.ContractAddress), nil
}

// tokenTransfer reports whether a log is an ERC-20 Transfer with a non-zero amount: topic0
// Transfer, exactly three topics (a fourth means an ERC-721 token id) and 32 bytes of data.
func tokenTransfer(base chains.Movement, l *rpcLog) (chains.Movement, bool) {
	if len(l.Topics) != 3 || l.Topics[0] != TransferTopic || len(l.Data) != 32 {
		return chains.Movement{}, false
	}
	amount := new(big.Int).SetBytes(l.Data)
	if amount.Sign() == 0 {
		return chains.Movement{}, false
	}
	from := topicAddress(l.Topics[1])
	to := topicAddress(l.Topics[2])
	return transfer(base, chains.PositionLog(uint64(*l.LogIndex)), chains.KindToken, from, to,
		string(l.Address), amount), true
}

// topicAddress takes the low 20 bytes of an indexed address topic.
func topicAddress(t hash) string { return "0x" + string(t[len(t)-40:]) }

// appendInternal walks frames depth first and appends the value transfers of CALL,
// CREATE, CREATE2 and SELFDESTRUCT frames that did not fail; a failed frame's subtree
// moved nothing.
func appendInternal(out []chains.Movement, base chains.Movement, calls []callFrame,
	prefix string) ([]chains.Movement, error) {
	for i := range calls {
		f := &calls[i]
		path := strconv.Itoa(i)
		if prefix != "" {
			path = prefix + "_" + path
		}
		if f.Error != "" {
			continue
		}
		if movesValue(f.Type) && f.Value != nil && f.Value.Sign() > 0 {
			if f.From == "" || f.To == nil || *f.To == "" {
				return nil, fmt.Errorf("trace %s: %s frame with value but without from or to",
					path, f.Type)
			}
			if isSelfdestruct(f.Type) && *f.To == f.From {
				// A contract that names itself as beneficiary burns its balance (before
				// Cancun) or keeps it (after): either way no one receives anything.
				continue
			}
			out = append(out, transfer(base, "trace:"+path, chains.KindInternal, string(f.From),
				string(*f.To), chains.AssetNative, &f.Value.Int))
		}
		var err error
		if out, err = appendInternal(out, base, f.Calls, path); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func isSelfdestruct(frameType string) bool { return strings.EqualFold(frameType, "SELFDESTRUCT") }

func movesValue(frameType string) bool {
	switch strings.ToUpper(frameType) {
	case "CALL", "CREATE", "CREATE2", "SELFDESTRUCT":
		return true
	}
	return false
}

func transfer(base chains.Movement, pos string, kind chains.Kind, from, to, asset string,
	amount *big.Int) chains.Movement {
	m := base
	m.Position = pos
	m.Kind = kind
	m.Inputs = []chains.Leg{{Address: from, Asset: asset, Amount: new(big.Int).Set(amount)}}
	m.Outputs = []chains.Leg{{Address: to, Asset: asset, Amount: new(big.Int).Set(amount)}}
	return m
}
