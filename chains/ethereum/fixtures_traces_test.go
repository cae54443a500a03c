package ethereum

import (
	"fmt"
	"math/big"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowwatch/flowwatch/chains"
)

// TestEthereumETLGethTraces checks internal transfers against ethereum-etl's expected
// traces for the blocks it traced with callTracer (1, 1000000, 1000690, 1000895, 1011973):
// the rows below the top call that carry value, are calls or creates (not callcode or
// delegatecall) and have no error on themselves or on any caller.
func TestEthereumETLGethTraces(t *testing.T) {
	dir := filepath.Join(fixturesDir(t), "ethereum-etl", "tests", "resources",
		"test_extract_geth_traces_job")
	for _, name := range []string{"block_without_transactions", "block_with_subtraces",
		"block_with_create", "block_with_error", "block_with_suicide"} {
		t.Run(name, func(t *testing.T) {
			traces, err := decodeTraces(readResult(t, glob(t,
				filepath.Join(dir, name, "*debug_traceBlockByNumber*"))[0]))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, tr := range traces {
				if tr.Result.Error != "" {
					continue
				}
				ms, err := appendInternal(nil, chains.Movement{TxIndex: uint(i)},
					tr.Result.Calls, "")
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range ms {
					got = append(got, fmt.Sprintf("%d %s %s", m.TxIndex, m.Position,
						movementFlow(m)))
				}
			}
			sameFlows(t, name, got, etlInternal(t, filepath.Join(dir, name,
				"expected_traces.csv")))
		})
	}
}

func etlInternal(t *testing.T, path string) []string {
	rows := readCSV(t, path)
	failed := map[string]bool{} // "txindex/trace_address" of frames with an error
	for _, r := range rows {
		if r["error"] != "" {
			failed[r["transaction_index"]+"/"+r["trace_address"]] = true
		}
	}
	underFailure := func(r map[string]string) bool {
		parts := strings.Split(r["trace_address"], ",")
		if failed[r["transaction_index"]+"/"] {
			return true
		}
		for i := 1; i <= len(parts); i++ {
			if failed[r["transaction_index"]+"/"+strings.Join(parts[:i], ",")] {
				return true
			}
		}
		return false
	}
	var out []string
	for _, r := range rows {
		v, _ := new(big.Int).SetString(r["value"], 10)
		if r["trace_address"] == "" || v == nil || v.Sign() == 0 || underFailure(r) {
			continue
		}
		switch r["call_type"] {
		case "call", "":
		default:
			continue
		}
		pos := "trace:" + strings.ReplaceAll(r["trace_address"], ",", "_")
		out = append(out, fmt.Sprintf("%s %s %s", r["transaction_index"], pos,
			flow("", r["from_address"], r["to_address"], "native", v.String())))
	}
	return out
}
