package ethereum

import (
	"encoding/json"
	"errors"
	"fmt"
)

// rpcBlock is the part of an eth_getBlockByNumber(n, true) result that flowwatch reads.
type rpcBlock struct {
	Number       *quantity `json:"number"`
	Hash         hash      `json:"hash"`
	ParentHash   hash      `json:"parentHash"`
	Timestamp    *quantity `json:"timestamp"`
	Transactions []rpcTx   `json:"transactions"`
}

// rpcTx is the part of a transaction object that flowwatch reads. Its type is not read,
// so any transaction type decodes.
type rpcTx struct {
	Hash             hash         `json:"hash"`
	From             address      `json:"from"`
	To               *address     `json:"to"`
	Value            *bigQuantity `json:"value"`
	TransactionIndex *quantity    `json:"transactionIndex"`
}

// rpcReceipt is the part of a transaction receipt that flowwatch reads.
type rpcReceipt struct {
	TransactionHash  hash      `json:"transactionHash"`
	TransactionIndex *quantity `json:"transactionIndex"`
	BlockHash        hash      `json:"blockHash"`
	Status           *quantity `json:"status"`
	Root             *data     `json:"root"`
	ContractAddress  *address  `json:"contractAddress"`
	Logs             []rpcLog  `json:"logs"`
}

// rpcLog is the part of a log that flowwatch reads.
type rpcLog struct {
	Address  address   `json:"address"`
	Topics   []hash    `json:"topics"`
	Data     data      `json:"data"`
	LogIndex *quantity `json:"logIndex"`
}

// txTrace is one element of a debug_traceBlockByNumber result. Old nodes send no txHash.
type txTrace struct {
	TxHash *hash      `json:"txHash"`
	Result *callFrame `json:"result"`
	Error  string     `json:"error"`
}

// callFrame is a callTracer frame.
type callFrame struct {
	Type  string       `json:"type"`
	From  address      `json:"from"`
	To    *address     `json:"to"`
	Value *bigQuantity `json:"value"`
	Error string       `json:"error"`
	Calls []callFrame  `json:"calls"`
}

// maxCallDepth bounds frame nesting; the EVM's own limit is 1024.
const maxCallDepth = 1100

// decodeBlock decodes and checks a full-transaction block. A JSON null is errNull.
func decodeBlock(raw json.RawMessage) (*rpcBlock, error) {
	if isNull(raw) {
		return nil, errNull
	}
	var b rpcBlock
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, err
	}
	switch {
	case b.Number == nil:
		return nil, errors.New("missing number")
	case b.Hash == "":
		return nil, errors.New("missing hash")
	case b.ParentHash == "":
		return nil, errors.New("missing parentHash")
	case b.Timestamp == nil:
		return nil, errors.New("missing timestamp")
	case b.Transactions == nil:
		return nil, errors.New("missing transactions")
	}
	for i, tx := range b.Transactions {
		var err error
		switch {
		case tx.Hash == "":
			err = errors.New("missing hash")
		case tx.From == "":
			err = errors.New("missing from")
		case tx.Value == nil:
			err = errors.New("missing value")
		case tx.Value.Sign() < 0:
			err = errors.New("negative value")
		case tx.TransactionIndex == nil:
			err = errors.New("missing transactionIndex")
		case uint64(*tx.TransactionIndex) != uint64(i):
			err = fmt.Errorf("transactionIndex %d at position %d", *tx.TransactionIndex, i)
		}
		if err != nil {
			return nil, fmt.Errorf("transaction %d: %w", i, err)
		}
	}
	return &b, nil
}

// rpcHeader is the part of an eth_getBlockByNumber(n, false) result that a reorg check reads.
type rpcHeader struct {
	Number     *quantity `json:"number"`
	Hash       hash      `json:"hash"`
	ParentHash hash      `json:"parentHash"`
	Timestamp  *quantity `json:"timestamp"`
}

// decodeHeader decodes and checks a block's header fields. A JSON null is errNull.
func decodeHeader(raw json.RawMessage) (*rpcHeader, error) {
	if isNull(raw) {
		return nil, errNull
	}
	var h rpcHeader
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, err
	}
	switch {
	case h.Number == nil:
		return nil, errors.New("missing number")
	case h.Hash == "":
		return nil, errors.New("missing hash")
	case h.ParentHash == "":
		return nil, errors.New("missing parentHash")
	case h.Timestamp == nil:
		return nil, errors.New("missing timestamp")
	}
	return &h, nil
}

// decodeReceipts decodes an eth_getBlockReceipts result. A JSON null is errNull.
func decodeReceipts(raw json.RawMessage) ([]rpcReceipt, error) {
	if isNull(raw) {
		return nil, errNull
	}
	var rs []rpcReceipt
	if err := json.Unmarshal(raw, &rs); err != nil {
		return nil, err
	}
	for i := range rs {
		if err := checkReceipt(&rs[i]); err != nil {
			return nil, fmt.Errorf("receipt %d: %w", i, err)
		}
	}
	return rs, nil
}

// decodeReceipt decodes one eth_getTransactionReceipt result. A JSON null is errNull.
func decodeReceipt(raw json.RawMessage) (*rpcReceipt, error) {
	if isNull(raw) {
		return nil, errNull
	}
	var r rpcReceipt
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, err
	}
	return &r, checkReceipt(&r)
}

func checkReceipt(r *rpcReceipt) error {
	switch {
	case r.TransactionHash == "":
		return errors.New("missing transactionHash")
	case r.TransactionIndex == nil:
		return errors.New("missing transactionIndex")
	case r.Status == nil && r.Root == nil:
		return errors.New("neither status nor root")
	}
	for i, l := range r.Logs {
		switch {
		case l.Address == "":
			return fmt.Errorf("log %d: missing address", i)
		case l.LogIndex == nil:
			return fmt.Errorf("log %d: missing logIndex", i)
		case l.Topics == nil:
			return fmt.Errorf("log %d: missing topics", i)
		}
	}
	return nil
}

// decodeTraces decodes a debug_traceBlockByNumber result with the callTracer.
func decodeTraces(raw json.RawMessage) ([]txTrace, error) {
	if isNull(raw) {
		return nil, errNull
	}
	var ts []txTrace
	if err := json.Unmarshal(raw, &ts); err != nil {
		return nil, err
	}
	for i, t := range ts {
		if t.Error != "" {
			return nil, fmt.Errorf("trace %d: tracer failed: %s", i, t.Error)
		}
		if t.Result == nil {
			return nil, fmt.Errorf("trace %d: missing result", i)
		}
		if err := checkFrame(t.Result, 0); err != nil {
			return nil, fmt.Errorf("trace %d: %w", i, err)
		}
	}
	return ts, nil
}

func checkFrame(f *callFrame, depth int) error {
	if depth > maxCallDepth {
		return errors.New("call frames nested too deep")
	}
	if f.Type == "" {
		return errors.New("frame without type")
	}
	// Old geth versions sent bare {"type":"SELFDESTRUCT"} frames; from and to are only
	// required of frames that carry value.
	if f.Value != nil && f.Value.Sign() > 0 && (f.From == "" || f.To == nil || *f.To == "") {
		return fmt.Errorf("%s frame with value but without from or to", f.Type)
	}
	for i := range f.Calls {
		if err := checkFrame(&f.Calls[i], depth+1); err != nil {
			return err
		}
	}
	return nil
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}
