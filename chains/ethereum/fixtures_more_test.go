package ethereum

import (
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/internal/fakerpc"
)

// TestErigonBlock18000000 extracts mainnet block 18000000 from erigon's recorded
// eth_getBlockByNumber and eth_getBlockReceipts: 94 transactions (types 0 and 2, one contract
// creation, two failed), 291 logs of which 143 have the Transfer topic: 141 with three topics
// (50 of them zero-value) and 2 ERC-721 transfers with four.
func TestErigonBlock18000000(t *testing.T) {
	dir := filepath.Join(fixturesDir(t), "erigon-rpc-tests", "integration", "mainnet")
	node := newFixtureNode()
	node.addBlock(t, filepath.Join(dir, "eth_getBlockByNumber", "test_08.json"))
	receipts := readResult(t, filepath.Join(dir, "eth_getBlockReceipts", "test_02.json"))
	node.blockReceipts = map[uint64]json.RawMessage{18000000: receipts}
	srv := fakerpc.New(t, node.handle)
	ms := extractRange(t, testSource(t, srv.URL, TracesAuto), 18000000, 18000000)

	// The expectation is computed from the receipts with a generic JSON walk, independent
	// of the decoders under test.
	var rs []struct {
		TxHash string `json:"transactionHash"`
		Logs   []struct {
			Address  string   `json:"address"`
			Topics   []string `json:"topics"`
			Data     string   `json:"data"`
			LogIndex string   `json:"logIndex"`
		} `json:"logs"`
	}
	if err := json.Unmarshal(receipts, &rs); err != nil {
		t.Fatal(err)
	}
	var want, got []string
	fourTopic := 0
	for _, r := range rs {
		for _, l := range r.Logs {
			if len(l.Topics) == 0 || l.Topics[0] != TransferTopic {
				continue
			}
			if len(l.Topics) == 4 {
				fourTopic++
				continue
			}
			v, _ := new(big.Int).SetString(l.Data[2:], 16)
			if v.Sign() == 0 {
				continue
			}
			n, _ := new(big.Int).SetString(l.LogIndex[2:], 16)
			want = append(want, flow(r.TxHash, "0x"+l.Topics[1][26:], "0x"+l.Topics[2][26:],
				l.Address, v.String())+" log:"+n.String())
		}
	}
	natives := 0
	for _, m := range ms {
		switch m.Kind {
		case chains.KindToken:
			got = append(got, movementFlow(m)+" "+m.Position)
		case chains.KindNative:
			natives++
		}
	}
	sameFlows(t, "tokens", got, want)
	if len(want) != 91 || fourTopic != 2 {
		t.Errorf("fixture: %d non-zero three-topic transfers and %d four-topic, want 91 and 2",
			len(want), fourTopic)
	}
	if natives != 39 {
		t.Errorf("got %d native transfers, want 39 (value > 0, status 1)", natives)
	}
	if srv.Calls("eth_getTransactionReceipt") != 0 {
		t.Error("fetched receipts one by one although eth_getBlockReceipts answered")
	}
}

// TestUnknownTransactionTypes extracts an L2 block whose transactions have types that
// go-ethereum cannot decode (OP deposits 0x7e, Arbitrum 0x6a and 0x64).
func TestUnknownTransactionTypes(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "op-deposit-block.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Block, Receipts json.RawMessage }
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	node := newFixtureNode()
	node.blocks[0x7a1200] = f.Block
	node.blockReceipts = map[uint64]json.RawMessage{0x7a1200: f.Receipts}
	s := testSource(t, fakerpc.New(t, node.handle).URL, TracesOff)
	var got []string
	for _, m := range extractRange(t, s, 0x7a1200, 0x7a1200) {
		got = append(got, m.Position+" "+movementFlow(m))
	}
	sameFlows(t, "l2", got, []string{
		"tx " + flow("0x2222222222222222222222222222222222222222222222222222222222222222",
			"0x977f82a600a1414e583f7f13623f1ac5d58b1c0b",
			"0x977f82a600a1414e583f7f13623f1ac5d58b1c0b", "native", "1000000000000000000"),
		"log:0 " + flow("0x2222222222222222222222222222222222222222222222222222222222222222",
			"0x977f82a600a1414e583f7f13623f1ac5d58b1c0b",
			"0x4200000000000000000000000000000000000016",
			"0x4200000000000000000000000000000000000006", "1000"),
		"tx " + flow("0x4444444444444444444444444444444444444444444444444444444444444444",
			"0x1f9840a85d5af5bf1d1762f925bdaddc4201f984",
			"0x6b175474e89094c44da98b954eedeac495271d0f", "native", "5"),
	})
}
