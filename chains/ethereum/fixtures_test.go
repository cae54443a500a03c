package ethereum

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/internal/fakerpc"
)

func testSource(t *testing.T, url string, mode TraceMode) *Source {
	t.Helper()
	s, err := Dial(context.Background(), url, Options{Traces: mode, MinBackoff: time.Millisecond,
		MaxBackoff: 5 * time.Millisecond, Timeout: 5 * time.Second,
		Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// flow is a movement reduced to what peers' outputs carry.
func flow(tx, from, to, asset, amount string) string {
	return strings.ToLower(fmt.Sprintf("%s %s->%s %s %s", tx, from, to, asset, amount))
}

func movementFlow(m chains.Movement) string {
	return flow(m.Tx, m.Inputs[0].Address, m.Outputs[0].Address, m.Inputs[0].Asset,
		m.Inputs[0].Amount.String())
}

func extractRange(t *testing.T, s *Source, from, to uint64) []chains.Movement {
	t.Helper()
	var out []chains.Movement
	err := chains.Stream(context.Background(), s, from, to, 4, func(b *chains.Block) error {
		out = append(out, b.Movements...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameFlows(t *testing.T, name string, got, want []string) {
	t.Helper()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		for _, g := range got {
			if !slices.Contains(want, g) {
				t.Errorf("%s: extra %s", name, g)
			}
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("%s: missing %s", name, w)
			}
		}
		t.Fatalf("%s: got %d flows, want %d", name, len(got), len(want))
	}
}

// TestRosettaBlocks checks native and internal transfers against rosetta-ethereum's
// expected value-moving operations (CALL, CREATE, SELFDESTRUCT pairs that succeeded) for
// its nine blocks, served with per-transaction receipts only (no eth_getBlockReceipts)
// and callTracer traces.
func TestRosettaBlocks(t *testing.T) {
	dir := filepath.Join(fixturesDir(t), "rosetta-ethereum", "ethereum", "testdata")
	for _, n := range []uint64{10991, 10992, 10994, 239782, 363366, 363415, 363753, 468179,
		468194} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			node := newFixtureNode()
			node.traces = map[uint64]json.RawMessage{}
			b := node.addBlock(t, filepath.Join(dir, fmt.Sprintf("block_%d.json", n)))
			for _, tx := range b.Transactions {
				node.txReceipts[string(tx.Hash)] = readResult(t,
					filepath.Join(dir, "tx_receipt_"+string(tx.Hash)+".json"))
			}
			node.traces[n] = readResult(t, filepath.Join(dir, "block_trace_"+string(b.Hash)+".json"))
			srv := fakerpc.New(t, node.handle)
			s := testSource(t, srv.URL, TracesOn)

			var got []string
			for _, m := range extractRange(t, s, n, n) {
				if m.Kind == chains.KindToken {
					continue
				}
				got = append(got, movementFlow(m))
			}
			sameFlows(t, "rosetta", got, rosettaFlows(t, filepath.Join(dir,
				fmt.Sprintf("block_response_%d.json", n))))
			if c := srv.Calls("eth_getTransactionReceipt"); len(b.Transactions) > 0 && c == 0 {
				t.Error("receipts were not fetched per transaction")
			}
		})
	}
}

// rosettaFlows pairs rosetta's debit and credit operations of value-moving types.
func rosettaFlows(t *testing.T, path string) []string {
	var resp struct {
		Block struct {
			Transactions []struct {
				ID struct {
					Hash string `json:"hash"`
				} `json:"transaction_identifier"`
				Ops []struct {
					ID struct {
						Index int `json:"index"`
					} `json:"operation_identifier"`
					Related []struct {
						Index int `json:"index"`
					} `json:"related_operations"`
					Type    string `json:"type"`
					Status  string `json:"status"`
					Account struct {
						Address string `json:"address"`
					} `json:"account"`
					Amount *struct {
						Value string `json:"value"`
					} `json:"amount"`
				} `json:"operations"`
			} `json:"transactions"`
		} `json:"block"`
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tx := range resp.Block.Transactions {
		debits := map[int]string{}
		for _, op := range tx.Ops {
			switch op.Type {
			case "CALL", "CREATE", "SELFDESTRUCT":
			default:
				continue
			}
			if op.Status != "SUCCESS" || op.Amount == nil {
				continue
			}
			v, _ := new(big.Int).SetString(op.Amount.Value, 10)
			switch {
			case v.Sign() < 0:
				debits[op.ID.Index] = op.Account.Address
			case v.Sign() > 0 && len(op.Related) == 1:
				from, ok := debits[op.Related[0].Index]
				if !ok {
					t.Fatalf("%s: credit %d without its debit", tx.ID.Hash, op.ID.Index)
				}
				out = append(out, flow(tx.ID.Hash, from, op.Account.Address, "native",
					v.String()))
			}
		}
	}
	return out
}

// TestEthereumETLTokenTransfers checks ERC-20 transfers against ethereum-etl's expected
// output for block 483920 (pre-Byzantium receipts with a state root and null status) and
// blocks 1755634-1755635, on a node without eth_getBlockReceipts or traces.
func TestEthereumETLTokenTransfers(t *testing.T) {
	res := filepath.Join(fixturesDir(t), "ethereum-etl", "tests", "resources")
	tests := []struct {
		name     string
		blocks   []string
		receipts string
		from, to uint64
		want     []string
	}{
		{
			name:     "block 483920",
			blocks:   []string{"test_export_blocks_job/block_with_logs/*getBlockByNumber*"},
			receipts: "test_export_receipts_job/receipts_with_logs/*getTransactionReceipt*",
			from:     483920, to: 483920,
			want: etlCSVTransfers(t, filepath.Join(res,
				"test_export_token_transfers_job/block_with_transfers/expected_token_transfers.csv")),
		},
		{
			name:     "blocks 1755634-1755635",
			blocks:   []string{"test_stream/blocks_1755634_1755635/*getBlockByNumber_0x*"},
			receipts: "test_stream/blocks_1755634_1755635/*getTransactionReceipt*",
			from:     1755634, to: 1755635,
			want: etlJSONTransfers(t, filepath.Join(res,
				"test_stream/blocks_1755634_1755635/expected_token_transfers.json")),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := newFixtureNode()
			for _, pattern := range tt.blocks {
				for _, p := range glob(t, filepath.Join(res, pattern)) {
					node.addBlock(t, p)
				}
			}
			for _, p := range glob(t, filepath.Join(res, tt.receipts)) {
				r, err := decodeReceipt(readResult(t, p))
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				node.txReceipts[string(r.TransactionHash)] = readResult(t, p)
			}
			s := testSource(t, fakerpc.New(t, node.handle).URL, TracesAuto)
			var got []string
			for _, m := range extractRange(t, s, tt.from, tt.to) {
				if m.Kind == chains.KindToken {
					got = append(got, movementFlow(m)+" "+m.Position)
				}
			}
			sameFlows(t, tt.name, got, tt.want)
			if s.TracesUsed() {
				t.Error("auto mode still asks a node without traces for them")
			}
		})
	}
}

func glob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil || len(m) == 0 {
		t.Fatalf("no fixture matches %s", pattern)
	}
	return m
}

func etlCSVTransfers(t *testing.T, path string) []string {
	rows := readCSV(t, path)
	var out []string
	for _, r := range rows {
		out = append(out, flow(r["transaction_hash"], r["from_address"], r["to_address"],
			r["token_address"], r["value"])+" log:"+r["log_index"])
	}
	return out
}

func etlJSONTransfers(t *testing.T, path string) []string {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var r struct {
			Token    string      `json:"token_address"`
			From     string      `json:"from_address"`
			To       string      `json:"to_address"`
			Value    json.Number `json:"value"`
			Tx       string      `json:"transaction_hash"`
			LogIndex int         `json:"log_index"`
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		out = append(out, flow(r.Tx, r.From, r.To, r.Token, r.Value.String())+
			fmt.Sprintf(" log:%d", r.LogIndex))
	}
	return out
}

func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	if len(recs) == 0 {
		return nil // an empty expected file: no rows, not even a header
	}
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = rec[i]
		}
		out = append(out, row)
	}
	return out
}
