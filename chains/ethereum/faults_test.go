package ethereum

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/internal/fakerpc"
)

// erigonNode serves block 18000000 with block receipts and no traces.
func erigonNode(t *testing.T) *fixtureNode {
	t.Helper()
	dir := fixturesDir(t) + "/erigon-rpc-tests/integration/mainnet"
	node := newFixtureNode()
	node.addBlock(t, dir+"/eth_getBlockByNumber/test_08.json")
	node.blockReceipts = map[uint64]json.RawMessage{}
	node.blockReceipts[18000000] = readResult(t, dir+"/eth_getBlockReceipts/test_02.json")
	return node
}

// TestTransientFaults shows that each fault a node or its proxy can show is retried and the
// block then comes out whole, the same as without the fault.
func TestTransientFaults(t *testing.T) {
	node := erigonNode(t)
	clean := fakerpc.New(t, node.handle)
	want := len(extractRange(t, testSource(t, clean.URL, TracesOff), 18000000, 18000000))

	tests := []struct {
		name   string
		faults []fakerpc.Fault
	}{
		{"http 429", []fakerpc.Fault{fakerpc.Status(429, 1)}},
		{"http 429 without retry-after", []fakerpc.Fault{fakerpc.Status(429, 0)}},
		{"http 502 then 503", []fakerpc.Fault{fakerpc.Status(502, 0), fakerpc.Status(503, 0)}},
		{"truncated json", []fakerpc.Fault{fakerpc.Truncate()}},
		{"rate limit error", []fakerpc.Fault{fakerpc.Replace(`[{"jsonrpc":"2.0","id":1,` +
			`"error":{"code":-32005,"message":"daily request count exceeded, request rate ` +
			`limited"}},{"jsonrpc":"2.0","id":2,"result":null}]`)}},
		// Some providers throttle under the code of an invalid request; its text tells.
		{"rate limit as an invalid request", []fakerpc.Fault{fakerpc.Replace(`[{"jsonrpc":` +
			`"2.0","id":1,"error":{"code":-32600,"message":"Too Many Requests: slow down"}},` +
			`{"jsonrpc":"2.0","id":2,"result":null}]`)}},
		{"hang", []fakerpc.Fault{fakerpc.Hang()}},
		{"not json at all", []fakerpc.Fault{fakerpc.Replace(`<html>bad gateway</html>`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakerpc.New(t, node.handle)
			srv.Inject(tt.faults...)
			s, err := New(mustDial(t, srv.URL), Options{Traces: TracesOff,
				MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond,
				Timeout: time.Second, Logger: zaptest.NewLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.Block(context.Background(), 18000000)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Movements) != want {
				t.Fatalf("got %d movements after the fault, want %d", len(b.Movements), want)
			}
			if got, min := srv.Requests(), int64(len(tt.faults)+1); got < min {
				t.Fatalf("%d requests, want at least %d", got, min)
			}
		})
	}
}

// TestPermanentFaults shows that what retrying cannot fix ends in one error naming the
// block, after a bounded number of tries.
func TestPermanentFaults(t *testing.T) {
	node := erigonNode(t)
	tests := []struct {
		name     string
		faults   int
		fault    fakerpc.Fault
		mode     TraceMode
		wantErr  string
		wantIs   error
		requests int64
	}{
		{name: "garbage every time", faults: 10, fault: fakerpc.Replace(`{"jsonrpc":`),
			mode: TracesOff, wantErr: "block 18000000", requests: 4},
		{name: "http 403", faults: 10, fault: fakerpc.Status(403, 0), mode: TracesOff,
			wantErr: "block 18000000: 403 Forbidden", requests: 1},
		{name: "traces on without debug api", mode: TracesOn,
			wantErr: "traces on, but the node has no debug_traceBlockByNumber"},
		{name: "block past head", mode: TracesOff, wantErr: "block 18000001",
			wantIs: chains.ErrBlockNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakerpc.New(t, node.handle)
			for range tt.faults {
				srv.Inject(tt.fault)
			}
			s, err := New(mustDial(t, srv.URL), Options{Traces: tt.mode, Retries: 3,
				MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond,
				Logger: zaptest.NewLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			n := uint64(18000000)
			if tt.wantIs != nil {
				n++
			}
			_, err = s.Block(context.Background(), n)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("error %v is not %v", err, tt.wantIs)
			}
			if tt.requests > 0 && srv.Requests() != tt.requests {
				t.Fatalf("%d requests, want %d (3 retries for what may pass, none otherwise)",
					srv.Requests(), tt.requests)
			}
		})
	}
}

// TestMalformedResponses feeds decoders responses that a broken node or proxy could send
// and wants an error, never a panic and never an empty block.
func TestMalformedResponses(t *testing.T) {
	tests := []struct {
		name, block, receipts, wantErr string
	}{
		{"number as hash", `{"number":"0x1","hash":5}`, `[]`, "decode block"},
		{"missing transactions", `{"number":"0x1","hash":"0x` + h64 + `","parentHash":"0x` +
			h64 + `","timestamp":"0x1"}`, `[]`, "missing transactions"},
		{"hashes instead of objects", blockWith(`"0x` + h64 + `"`), `[]`, "decode block"},
		{"bad value", blockWith(txJSON(`"value":"0xzz"`)), `[]`, "bad quantity"},
		{"receipt count", blockWith(txJSON(`"value":"0x1"`)), `[]`,
			"0 receipts for 1 transactions"},
		{"receipt for another tx", blockWith(txJSON(`"value":"0x1"`)),
			`[{"transactionHash":"0x` + strings.Repeat("b", 64) +
				`","transactionIndex":"0x0","status":"0x1","logs":[]}]`, "receipt 0 is for tx"},
		{"receipt of another fork", blockWith(txJSON(`"value":"0x1"`)),
			`[{"transactionHash":"0x` + h64 + `","blockHash":"0x` + strings.Repeat("c", 64) +
				`","transactionIndex":"0x0","status":"0x1","logs":[]}]`, "reorg while fetching"},
		{"null receipts", blockWith(), `null`, "null for a block the node has"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := newFixtureNode()
			node.blocks[1] = []byte(tt.block)
			node.blockReceipts = map[uint64]json.RawMessage{1: json.RawMessage(tt.receipts)}
			srv := fakerpc.New(t, node.handle)
			s, err := New(mustDial(t, srv.URL), Options{Traces: TracesOff, Retries: 1,
				MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.Block(context.Background(), 1)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) ||
				!strings.Contains(err.Error(), "block 1:") {
				t.Fatalf("got block %v, error %v; want an error naming block 1 and %q", b, err,
					tt.wantErr)
			}
		})
	}
}

var h64 = strings.Repeat("a", 64)

func blockWith(txs ...string) string {
	return `{"number":"0x1","hash":"0x` + strings.Repeat("d", 64) + `","parentHash":"0x` + h64 +
		`","timestamp":"0x1","transactions":[` + strings.Join(txs, ",") + `]}`
}

func txJSON(value string) string {
	return `{"hash":"0x` + h64 + `","from":"0x` + strings.Repeat("1", 40) + `","to":"0x` +
		strings.Repeat("2", 40) + `",` + value + `,"transactionIndex":"0x0"}`
}

// TestTxFaults: a transaction looked up by hash (of mainnet block 18000000, recorded)
// comes out whole after each transient fault, the same as without it, and an unknown hash
// is ErrTxNotFound without retrying.
func TestTxFaults(t *testing.T) {
	node := erigonNode(t)
	blk, err := testSource(t, fakerpc.New(t, node.handle).URL, TracesOff).Block(
		context.Background(), 18000000)
	if err != nil {
		t.Fatal(err)
	}
	m := blk.Movements[len(blk.Movements)/2]
	var want int
	for _, o := range blk.Movements {
		if o.Tx == m.Tx {
			want++
		}
	}
	for _, f := range []fakerpc.Fault{fakerpc.Status(429, 0), fakerpc.Status(503, 0),
		fakerpc.Truncate(), fakerpc.Hang(), fakerpc.Replace(`<html>bad gateway</html>`)} {
		srv := fakerpc.New(t, node.handle)
		srv.Inject(f)
		s, err := New(mustDial(t, srv.URL), Options{Traces: TracesOff,
			MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond,
			Timeout: time.Second, Logger: zaptest.NewLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		tx, err := s.Tx(context.Background(), m.Tx)
		if err != nil {
			t.Fatal(err)
		}
		if !tx.Mined || tx.Block.Number != 18000000 || len(tx.Movements) != want {
			t.Fatalf("after a fault: %+v, want %d movements in block 18000000", tx, want)
		}
	}
	srv := fakerpc.New(t, node.handle)
	s := testSource(t, srv.URL, TracesOff)
	_, err = s.Tx(context.Background(), "0x"+strings.Repeat("ab", 32))
	if !errors.Is(err, chains.ErrTxNotFound) || srv.Calls("eth_getTransactionByHash") != 1 {
		t.Fatalf("unknown: %v after %d calls", err, srv.Calls("eth_getTransactionByHash"))
	}
}

// TestAdaptiveBatch: a node without eth_getBlockReceipts, behind a provider that refuses
// batches of more than 16 calls (HTTP 413), serves mainnet block 18000000's receipts one
// by one: the source halves its batches until they pass, extracts the same movements, and
// keeps the smaller size for the next block.
func TestAdaptiveBatch(t *testing.T) {
	node := erigonNode(t)
	want := extractRange(t, testSource(t, fakerpc.New(t, node.handle).URL, TracesOff),
		18000000, 18000000)
	var rs []json.RawMessage
	if err := json.Unmarshal(node.blockReceipts[18000000], &rs); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		var h struct{ TransactionHash string }
		if err := json.Unmarshal(r, &h); err != nil {
			t.Fatal(err)
		}
		node.txReceipts[strings.ToLower(h.TransactionHash)] = r
	}
	node.blockReceipts = nil // per-transaction receipts, in batches
	srv := fakerpc.New(t, node.handle)
	srv.LimitBatch(16)
	s := testSource(t, srv.URL, TracesOff)
	if len(rs) <= 16 || s.BatchSize() != DefaultBatchSize {
		t.Fatalf("%d receipts, batch size %d: the test needs more than 16", len(rs),
			s.BatchSize())
	}
	got := extractRange(t, s, 18000000, 18000000)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%d movements through small batches, want %d", len(got), len(want))
	}
	if s.BatchSize() > 16 || srv.Refused() == 0 {
		t.Fatalf("batch size %d after %d refusals", s.BatchSize(), srv.Refused())
	}
	refused := srv.Refused()
	_ = extractRange(t, s, 18000000, 18000000)
	if srv.Refused() != refused {
		t.Fatal("the learned batch size was forgotten")
	}
	if c := srv.Calls("eth_getTransactionReceipt"); c < int64(2*len(rs)) {
		t.Fatalf("%d receipt calls for two fetches of %d", c, len(rs))
	}
}
