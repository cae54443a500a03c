package ethereum

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/flowwatch/flowwatch/chains/internal/fakerpc"
)

// fixturesDir is ../shared/fixtures beside the checkout (CI has it there);
// FLOWWATCH_FIXTURES overrides it.
func fixturesDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("FLOWWATCH_FIXTURES")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "fixtures")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("recorded mainnet fixtures not found (want ../shared beside the checkout "+
			"or FLOWWATCH_FIXTURES): %v", err)
	}
	return dir
}

// fixtureNode answers JSON-RPC from recorded responses. A method with no map is "method
// not found", as on a node that lacks it; a missing entry is null, as for an unknown block.
type fixtureNode struct {
	blocks        map[uint64]json.RawMessage
	blockReceipts map[uint64]json.RawMessage // nil: no eth_getBlockReceipts
	txReceipts    map[string]json.RawMessage
	traces        map[uint64]json.RawMessage // nil: no debug_traceBlockByNumber
	head          uint64
	chainID       uint64
}

func newFixtureNode() *fixtureNode {
	return &fixtureNode{blocks: map[uint64]json.RawMessage{},
		txReceipts: map[string]json.RawMessage{}}
}

func (f *fixtureNode) handle(method string, params []json.RawMessage) (any, *fakerpc.Error) {
	param := func(i int) string {
		if i >= len(params) {
			return ""
		}
		var s string
		_ = json.Unmarshal(params[i], &s)
		return strings.ToLower(s)
	}
	number := func() uint64 {
		n, _ := strconv.ParseUint(strings.TrimPrefix(param(0), "0x"), 16, 64)
		return n
	}
	switch method {
	case "eth_blockNumber":
		return "0x" + strconv.FormatUint(f.head, 16), nil
	case "eth_chainId":
		return "0x" + strconv.FormatUint(f.chainID, 16), nil
	case "eth_getBlockByNumber":
		return lookup(f.blocks, number()), nil
	case "eth_getBlockReceipts":
		if f.blockReceipts == nil {
			return nil, fakerpc.MethodNotFound(method)
		}
		return lookup(f.blockReceipts, number()), nil
	case "eth_getTransactionReceipt":
		return lookup(f.txReceipts, param(0)), nil
	case "eth_getTransactionByHash": // from the blocks' transactions
		for _, raw := range f.blocks {
			var b struct{ Transactions []json.RawMessage }
			_ = json.Unmarshal(raw, &b)
			for _, tx := range b.Transactions {
				var h struct{ Hash string }
				if json.Unmarshal(tx, &h) == nil && strings.ToLower(h.Hash) == param(0) {
					return tx, nil
				}
			}
		}
		return nil, nil
	case "debug_traceBlockByNumber":
		if f.traces == nil {
			return nil, fakerpc.MethodNotFound(method)
		}
		return lookup(f.traces, number()), nil
	}
	return nil, fakerpc.MethodNotFound(method)
}

func lookup[K comparable](m map[K]json.RawMessage, k K) any {
	if v, ok := m[k]; ok {
		return v
	}
	return nil
}

// readResult reads a recorded response: a full envelope (ethereum-etl), an erigon
// request/response list, or a bare result (rosetta).
func readResult(t testing.TB, path string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		JSONRPC string          `json:"jsonrpc"`
		Result  json.RawMessage `json:"result"`
	}
	if json.Unmarshal(b, &env) == nil && env.JSONRPC != "" {
		return env.Result
	}
	var pairs []struct {
		Response struct {
			Result json.RawMessage `json:"result"`
		} `json:"response"`
	}
	if json.Unmarshal(b, &pairs) == nil && len(pairs) > 0 && pairs[0].Response.Result != nil {
		return pairs[0].Response.Result
	}
	return b
}

func (f *fixtureNode) addBlock(t testing.TB, path string) *rpcBlock {
	t.Helper()
	raw := readResult(t, path)
	b, err := decodeBlock(raw)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	n := uint64(*b.Number)
	f.blocks[n] = raw
	f.head = max(f.head, n)
	return b
}
