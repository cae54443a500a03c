package ethereum

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowwatch/flowwatch/chains"
)

// The fuzz targets feed the decoders of node output arbitrary bytes: they must return a
// value or an error, never panic, and what they accept must turn into movements or an
// error. Seeds are small recorded responses.

func addSeeds(f *testing.F, paths ...string) {
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		var env struct{ Result json.RawMessage }
		if json.Unmarshal(b, &env) == nil && env.Result != nil {
			b = env.Result
		}
		f.Add(b)
	}
}

func fixture(f *testing.F, rel string) string {
	return filepath.Join(fixturesDir(f), rel)
}

func FuzzDecodeBlock(f *testing.F) {
	addSeeds(f, fixture(f, "ethereum-etl/tests/resources/test_export_blocks_job/"+
		"blocks_with_transactions/web3_response.eth_getBlockByNumber_0xb872_true.json"))
	f.Add([]byte(blockWith(txJSON(`"value":"0x1"`))))
	f.Add([]byte(`{"number":"0x1","transactions":[{"to":null}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := decodeBlock(raw)
		if err != nil {
			return
		}
		rs := make([]rpcReceipt, len(b.Transactions))
		for i, tx := range b.Transactions {
			one := quantity(1)
			rs[i] = rpcReceipt{TransactionHash: tx.Hash, Status: &one}
		}
		_, _ = (&blockData{Block: b, Receipts: rs}).movements("fuzz")
	})
}

func FuzzDecodeReceipts(f *testing.F) {
	addSeeds(f, fixture(f, "ethereum-etl/tests/resources/test_export_receipts_job/"+
		"receipts_with_logs/web3_response.eth_getTransactionReceipt_"+
		"0x04cbcb236043d8fb7839e07bbc7f5eed692fb2ca55d897f1101eac3e3ad4fab8.json"))
	f.Add([]byte(`[{"transactionHash":"0x` + h64 + `","transactionIndex":"0x0","status":"0x1",` +
		`"logs":[{"address":"0x` + h64[:40] + `","logIndex":"0x0","data":"0x",` +
		`"topics":["` + TransferTopic + `"]}]}]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		rs, err := decodeReceipts(raw)
		if err != nil {
			if r, err := decodeReceipt(raw); err == nil {
				rs = []rpcReceipt{*r}
			} else {
				return
			}
		}
		num, ts := quantity(1), quantity(0)
		b := &rpcBlock{Number: &num, Timestamp: &ts, Hash: hash("0x" + h64)}
		for i, r := range rs {
			idx := quantity(i)
			b.Transactions = append(b.Transactions, rpcTx{Hash: r.TransactionHash,
				From: address("0x" + h64[:40]), Value: &bigQuantity{},
				TransactionIndex: &idx})
		}
		_, _ = (&blockData{Block: b, Receipts: rs}).movements("fuzz")
	})
}

func FuzzDecodeTraces(f *testing.F) {
	addSeeds(f, fixture(f, "ethereum-etl/tests/resources/test_extract_geth_traces_job/"+
		"block_with_subtraces/web3_response.debug_traceBlockByNumber_0xf4240_tracer_calltracer.json"),
		fixture(f, "ethereum-etl/tests/resources/test_extract_geth_traces_job/"+
			"block_with_suicide/web3_response.debug_traceBlockByNumber_0xf7105_tracer_calltracer.json"))
	f.Add([]byte(`[{"txHash":"0x` + h64 + `","result":{"type":"CALL","from":"0x` + h64[:40] +
		`","calls":[{"type":"CREATE2","from":"0x` + h64[:40] + `","value":"0x5"}]}}]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ts, err := decodeTraces(raw)
		if err != nil {
			return
		}
		for _, tr := range ts {
			_, _ = appendInternal(nil, movementBase(), tr.Result.Calls, "")
		}
	})
}

func movementBase() (m chains.Movement) { return m }

func FuzzDecodeTxByHash(f *testing.F) {
	f.Add([]byte(`{"hash":"0x` + h64 + `","from":"0x` + h64[:40] + `","to":"0x` + h64[:40] +
		`","value":"0x1","blockHash":"0x` + h64 + `","blockNumber":"0x5"}`))
	f.Add([]byte(`{"hash":"0x` + h64 + `","from":"0x` + h64[:40] + `","to":null,` +
		`"value":"0x0","blockHash":null,"blockNumber":null}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		tx, err := decodeTxByHash(raw)
		if err != nil {
			return
		}
		if tx.Value == nil || tx.From == "" || (tx.BlockHash == nil) != (tx.BlockNumber == nil) {
			t.Fatalf("accepted %s as %+v", raw, tx)
		}
	})
}
