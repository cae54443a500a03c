package ethereum

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// Decoding benchmarks on mainnet block 18000000 (94 transactions, 291 logs). Compare
// BenchmarkDecodeBlock18000000 with BenchmarkBaselineJSONValid18000000, measured in the
// same run: json.Valid only scans the same bytes, the least any decoder must do.
func block18000000(b *testing.B) (block, receipts json.RawMessage) {
	dir := filepath.Join(fixturesDir(b), "erigon-rpc-tests", "integration", "mainnet")
	return readResult(b, filepath.Join(dir, "eth_getBlockByNumber", "test_08.json")),
		readResult(b, filepath.Join(dir, "eth_getBlockReceipts", "test_02.json"))
}

func BenchmarkDecodeBlock18000000(b *testing.B) {
	rawBlock, rawReceipts := block18000000(b)
	b.SetBytes(int64(len(rawBlock) + len(rawReceipts)))
	for b.Loop() {
		blk, err := decodeBlock(rawBlock)
		if err != nil {
			b.Fatal(err)
		}
		rs, err := decodeReceipts(rawReceipts)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := (&blockData{Block: blk, Receipts: rs}).movements("ethereum"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBaselineJSONValid18000000(b *testing.B) {
	rawBlock, rawReceipts := block18000000(b)
	b.SetBytes(int64(len(rawBlock) + len(rawReceipts)))
	for b.Loop() {
		if !json.Valid(rawBlock) || !json.Valid(rawReceipts) {
			b.Fatal("invalid")
		}
	}
}
