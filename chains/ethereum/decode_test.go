package ethereum

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

const (
	testHash = "0x" + "ab12000000000000000000000000000000000000000000000000000000000000"
	testAddr = "0x28c6c06298d514db089934071355e5743bf21d60"
)

// validBlock is a full-transaction block with one transaction, as a node sends it.
func validBlock() map[string]any {
	return map[string]any{"number": "0x10", "hash": testHash, "parentHash": testHash,
		"timestamp": "0x5f5e100", "transactions": []any{map[string]any{"hash": testHash,
			"from": testAddr, "to": testAddr, "value": "0xde0b6b3a7640000",
			"transactionIndex": "0x0"}}}
}

// validReceipt is a receipt with one log, as a node sends it.
func validReceipt() map[string]any {
	return map[string]any{"transactionHash": testHash, "transactionIndex": "0x0",
		"blockHash": testHash, "status": "0x1", "logs": []any{map[string]any{
			"address": testAddr, "topics": []any{testHash}, "data": "0x",
			"logIndex": "0x0"}}}
}

// edit returns v's JSON after f changed it.
func edit(t *testing.T, v map[string]any, f func(map[string]any)) json.RawMessage {
	t.Helper()
	f(v)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// first is the first transaction (or log) of a block (or receipt) made by validBlock (or
// validReceipt).
func first(v map[string]any, key string) map[string]any {
	return v[key].([]any)[0].(map[string]any)
}

// TestDecodeRejects: a block, header or receipt that lacks what flowwatch reads, or holds
// what no node sends, is an error naming the field (and the transaction, receipt or log),
// never a movement made of zero values.
func TestDecodeRejects(t *testing.T) {
	block := func(f func(map[string]any)) json.RawMessage { return edit(t, validBlock(), f) }
	receipt := func(f func(map[string]any)) json.RawMessage {
		return edit(t, validReceipt(), f)
	}
	tx := func(f func(map[string]any)) json.RawMessage {
		return block(func(b map[string]any) { f(first(b, "transactions")) })
	}
	log := func(f func(map[string]any)) json.RawMessage {
		return receipt(func(r map[string]any) { f(first(r, "logs")) })
	}
	del := func(k string) func(map[string]any) {
		return func(m map[string]any) { delete(m, k) }
	}
	set := func(k string, v any) func(map[string]any) {
		return func(m map[string]any) { m[k] = v }
	}
	decBlock := func(raw json.RawMessage) error { _, err := decodeBlock(raw); return err }
	decHeader := func(raw json.RawMessage) error { _, err := decodeHeader(raw); return err }
	decReceipt := func(raw json.RawMessage) error { _, err := decodeReceipt(raw); return err }
	decReceipts := func(raw json.RawMessage) error {
		_, err := decodeReceipts(json.RawMessage("[" + string(raw) + "]"))
		return err
	}
	type decodeCase struct {
		name    string
		decode  func(json.RawMessage) error
		give    json.RawMessage
		wantErr string // "": decodes
	}
	tests := []decodeCase{
		{"block", decBlock, block(func(map[string]any) {}), ""},
		{"block null", decBlock, json.RawMessage("null"), "null"},
		{"block without transactions", decBlock, block(del("transactions")),
			"missing transactions"},
		{"block with a bad hash", decBlock, block(set("hash", "0x12")), "hash"},
		{"transaction without hash", decBlock, tx(del("hash")), "transaction 0: missing hash"},
		{"transaction without from", decBlock, tx(del("from")), "transaction 0: missing from"},
		{"transaction without value", decBlock, tx(del("value")),
			"transaction 0: missing value"},
		{"transaction without index", decBlock, tx(del("transactionIndex")),
			"transaction 0: missing transactionIndex"},
		{"transaction out of place", decBlock, tx(set("transactionIndex", "0x3")),
			"transaction 0: transactionIndex 3 at position 0"},
		{"transaction value not a quantity", decBlock, tx(set("value", "12")),
			"want 0x prefix"},
		{"header", decHeader, block(del("transactions")), ""},
		{"header null", decHeader, json.RawMessage("null"), "null"},
		{"receipt", decReceipt, receipt(func(map[string]any) {}), ""},
		{"pre-Byzantium receipt", decReceipt, receipt(func(r map[string]any) {
			delete(r, "status")
			r["root"] = testHash
		}), ""},
		{"receipt null", decReceipt, json.RawMessage("null"), "null"},
		{"receipt without transactionHash", decReceipt, receipt(del("transactionHash")),
			"missing transactionHash"},
		{"receipt without transactionIndex", decReceipt, receipt(del("transactionIndex")),
			"missing transactionIndex"},
		{"receipt without status or root", decReceipt, receipt(del("status")),
			"neither status nor root"},
		{"log without address", decReceipt, log(del("address")), "log 0: missing address"},
		{"log without logIndex", decReceipt, log(del("logIndex")),
			"log 0: missing logIndex"},
		{"log without topics", decReceipt, log(del("topics")), "log 0: missing topics"},
		{"block receipts", decReceipts, receipt(func(map[string]any) {}), ""},
		{"block receipts, one bad", decReceipts, log(del("logIndex")),
			"receipt 0: log 0: missing logIndex"},
	}
	// The fields both a block and its header must have.
	for _, f := range []string{"number", "hash", "parentHash", "timestamp"} {
		tests = append(tests,
			decodeCase{"block without " + f, decBlock, block(del(f)), "missing " + f},
			decodeCase{"header without " + f, decHeader, block(del(f)), "missing " + f})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode(tt.give)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("decode %s: %v", tt.give, err)
			case tt.wantErr == "":
			case err == nil:
				t.Fatalf("decoded %s; want an error with %q", tt.give, tt.wantErr)
			case tt.wantErr == "null" && !errors.Is(err, errNull):
				t.Fatalf("error %v, want errNull", err)
			case !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q, want it to say %q", err, tt.wantErr)
			}
		})
	}
}

// TestOptionsValidate: each invalid option is refused, naming it.
func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		give    Options
		wantErr string
	}{
		{"defaults", Options{}, ""},
		{"traces", Options{Traces: "sometimes"}, "sometimes"},
		{"batch size", Options{BatchSize: -1}, "batch size -1: want at least 1"},
		{"backoff", Options{MinBackoff: time.Second, MaxBackoff: time.Millisecond},
			"backoff 1s..1ms: want 0 <= min <= max"},
		{"timeout", Options{Timeout: -time.Second}, "timeout -1s: want positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.give
			o.setDefaults()
			err := o.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
