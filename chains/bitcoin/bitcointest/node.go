package bitcointest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// FixturesDir returns the folder of bitcoin-etl's recorded blocks: ../shared/fixtures beside
// the checkout, or $FLOWWATCH_FIXTURES. root is the path from the test's package to the
// repository.
func FixturesDir(t testing.TB, root string) string {
	t.Helper()
	dir := os.Getenv("FLOWWATCH_FIXTURES")
	if dir == "" {
		dir = filepath.Join(root, "..", "shared", "fixtures")
	}
	dir = filepath.Join(dir, "bitcoin-etl", "tests", "resources", "test_export_blocks_job",
		"bitcoin")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("recorded mainnet fixtures not found (want ../shared beside the checkout "+
			"or FLOWWATCH_FIXTURES): %v", err)
	}
	return dir
}

// Node is a bitcoind JSON-RPC 1.0 endpoint answering from bitcoin-etl's recorded
// responses (files rpc_response_<method>_<args>.json holding the bare result), from every
// fixture folder. It has a transaction index (getrawtransaction works) and is too old for
// getblock verbosity 3, as the node they were recorded from. Node errors are answered as
// bitcoind does: HTTP 500 with the error in the body.
type Node struct {
	dirs []string
	// Modern makes the node answer as bitcoind 23 and later: getblock verbosity 3 with each
	// input's prevout, scriptPubKey.address instead of addresses[] (none for P2PK), and no
	// transaction index. The recorded responses are rewritten into that shape.
	Modern bool

	mu    sync.Mutex
	calls map[string]int
}

// NewNode starts a node for the test and returns it and its URL (with credentials).
func NewNode(t testing.TB, root string) (*Node, string) {
	fixtures := FixturesDir(t, root)
	entries, err := os.ReadDir(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	n := &Node{calls: map[string]int{}}
	for _, e := range entries {
		n.dirs = append(n.dirs, filepath.Join(fixtures, e.Name()))
	}
	srv := httptest.NewServer(n)
	t.Cleanup(srv.Close)
	return n, "http://user:pass@" + strings.TrimPrefix(srv.URL, "http://")
}

// Calls returns how many times method was called.
func (n *Node) Calls(method string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.calls[method]
}

func (n *Node) file(name string) (json.RawMessage, bool) {
	for _, d := range n.dirs {
		if b, err := os.ReadFile(filepath.Join(d, name)); err == nil {
			return b, true
		}
	}
	return nil, false
}

// rpcRequest is one JSON-RPC call.
type rpcRequest struct {
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
	ID     json.RawMessage   `json:"id"`
}

// ServeHTTP implements http.Handler: one call, or a batch (a JSON array of calls, answered
// by an array, with HTTP 200 whatever the calls' errors, as bitcoind does).
func (n *Node) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if len(body) > 0 && body[0] == '[' {
		var reqs []rpcRequest
		if err := json.Unmarshal(body, &reqs); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resps := make([]map[string]any, len(reqs))
		for i := range reqs {
			resps[i], _ = n.answer(&reqs[i])
		}
		_ = json.NewEncoder(w).Encode(resps)
		return
	}
	var req rpcRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp, status := n.answer(&req)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}

// answer answers one call: the response object and the HTTP status bitcoind would send
// for it alone (500 for an error).
func (n *Node) answer(req *rpcRequest) (map[string]any, int) {
	n.mu.Lock()
	n.calls[req.Method]++
	n.mu.Unlock()
	arg := func(i int) string {
		if i >= len(req.Params) {
			return ""
		}
		return strings.Trim(string(req.Params[i]), `"`)
	}
	reply := func(result json.RawMessage, code int, msg string) (map[string]any, int) {
		resp := map[string]any{"id": req.ID, "result": result, "error": nil}
		if msg != "" {
			resp["result"], resp["error"] = nil, map[string]any{"code": code, "message": msg}
			return resp, http.StatusInternalServerError
		}
		return resp, http.StatusOK
	}
	var name string
	switch req.Method {
	case "getnetworkinfo":
		if n.Modern {
			return reply(json.RawMessage(`{"version":270000,"subversion":"/Satoshi:27.0.0/"}`), 0, "")
		}
		return reply(json.RawMessage(`{"version":200000,"subversion":"/Satoshi:0.20.0/"}`), 0, "")
	case "getblockcount":
		name = "rpc_response_getblockcount.json"
	case "getblockhash":
		name = "rpc_response_getblockhash_" + arg(0) + ".json"
	case "getblock":
		name = "rpc_response_getblock_" + arg(0) + "_2.json"
	case "getrawtransaction":
		name = "rpc_response_getrawtransaction_" + arg(0) + ".json"
	default:
		return reply(nil, -32601, "Method not found")
	}
	b, ok := n.file(name)
	if n.Modern && req.Method == "getrawtransaction" {
		return reply(nil, -5, "No such mempool transaction. Use -txindex or provide a block "+
			"hash to enable blockchain transaction queries.")
	}
	if ok && n.Modern && req.Method == "getblock" {
		if arg(1) != "3" {
			return reply(nil, -8, "test node: want verbosity 3")
		}
		var err error
		if b, err = n.modernBlock(b); err != nil {
			return reply(nil, -1, err.Error())
		}
	}
	switch {
	case ok:
		return reply(b, 0, "")
	case req.Method == "getblockhash":
		return reply(nil, -8, "Block height out of range")
	default:
		return reply(nil, -5, "No such mempool or blockchain transaction. Use "+
			"gettransaction for wallet transactions.")
	}
}

// modernBlock rewrites a recorded verbosity-2 block as bitcoind 23+ answers verbosity 3.
func (n *Node) modernBlock(raw []byte) (json.RawMessage, error) {
	var blk map[string]any
	if err := json.Unmarshal(raw, &blk); err != nil {
		return nil, err
	}
	txs, _ := blk["tx"].([]any)
	for _, tx := range txs {
		tx := tx.(map[string]any)
		for _, v := range tx["vout"].([]any) {
			modernOutput(v.(map[string]any))
		}
		for _, v := range tx["vin"].([]any) {
			in := v.(map[string]any)
			txid, ok := in["txid"].(string)
			if !ok {
				continue // coinbase
			}
			prevRaw, ok := n.file("rpc_response_getrawtransaction_" + txid + ".json")
			if !ok {
				return nil, fmt.Errorf("no recorded transaction %s for a prevout", txid)
			}
			var prev map[string]any
			if err := json.Unmarshal(prevRaw, &prev); err != nil {
				return nil, err
			}
			idx := int(in["vout"].(float64))
			out := prev["vout"].([]any)[idx].(map[string]any)
			modernOutput(out)
			delete(out, "n")
			in["prevout"] = out
		}
	}
	return json.Marshal(blk)
}

// modernOutput gives an output bitcoind 22+'s shape: address, not addresses[] or reqSigs;
// no address for P2PK.
func modernOutput(o map[string]any) {
	spk := o["scriptPubKey"].(map[string]any)
	if addrs, ok := spk["addresses"].([]any); ok && len(addrs) == 1 && spk["type"] != "pubkey" {
		spk["address"] = addrs[0]
	}
	delete(spk, "addresses")
	delete(spk, "reqSigs")
}
