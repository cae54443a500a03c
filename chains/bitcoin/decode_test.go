package bitcoin

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/v2"
)

func TestParseBTC(t *testing.T) {
	tests := []struct {
		give    string
		want    int64
		wantErr string
	}{
		{"50.0", 5_000_000_000, ""},
		{"0.00000001", 1, ""},
		{"1e-08", 1, ""},
		{"20999999.97690000", 2_099_999_997_690_000, ""},
		{"0", 0, ""},
		{"1.000000001", 0, "at most 8 decimals"},
		{"-1", 0, "non-negative"},
		{"21000000.00000001", 0, "above 21 million"},
		{"1e-09", 0, "not a whole"},
		{"12a", 0, "not a number"},
		{"", 0, "missing"},
	}
	for _, tt := range tests {
		got, err := parseBTC(json.Number(tt.give))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: got %d, %v; want an error with %q", tt.give, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: got %d, %v; want %d", tt.give, got, err, tt.want)
		}
	}
}

// TestDecodeOutputScripts: every standard script type gets its address for the network,
// from the script, whatever shape the node answers in; the others get none.
func TestDecodeOutputScripts(t *testing.T) {
	tests := []struct {
		name, script, nodeAddr, wantAddr, wantType, wantErr string
	}{
		{"p2pk as p2pkh", "4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb6" +
			"49f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac", "",
			"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "pubkey", ""},
		{"p2pkh", "76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac", "",
			"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "pubkeyhash", ""},
		{"p2sh", "a914e9c3dd0c07aac76179ebc76a6c78d4d67c6c160a87", "",
			"3P14159f73E4gFr7JterCCQh9QjiTjiZrG", "scripthash", ""},
		{"p2wpkh", "0014751e76e8199196d454941c45d1b3a323f1433bd6", "",
			"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "witness_v0_keyhash", ""},
		{"p2wsh", "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262", "",
			"bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
			"witness_v0_scripthash", ""},
		{"p2tr", "5120a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c", "",
			"bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr",
			"witness_v1_taproot", ""},
		{"op_return", "6a0b68656c6c6f20776f726c64", "", "", "nulldata", ""},
		{"bare multisig", "5121030000000000000000000000000000000000000000000000000000000000000001" +
			"51ae", "", "", "multisig", ""},
		{"nonstandard", "51", "", "", "nonstandard", ""},
		{"node agrees", "76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac",
			"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
			"pubkeyhash", ""},
		{"wrong network", "0014751e76e8199196d454941c45d1b3a323f1433bd6",
			"tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "", "", "is the network right"},
		{"bad hex", "zz", "", "", "", "not hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := rpcOut{Value: "1.5", ScriptPubKey: rpcScriptKey{Hex: tt.script,
				Address: tt.nodeAddr}}
			got, err := decodeOutput(&o, &chaincfg.MainNetParams)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %+v, %v; want an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Address != tt.wantAddr || got.ScriptType != tt.wantType ||
				got.Value != 150_000_000 {
				t.Fatalf("got %+v, %v; want %s %s", got, err, tt.wantAddr, tt.wantType)
			}
		})
	}
}

// scriptedNode answers a fixed set of calls, for start-up checks.
type scriptedNode map[string]func(params []any) (json.RawMessage, error)

func (n scriptedNode) Call(_ context.Context, method string, params ...any) (json.RawMessage,
	error) {
	f, ok := n[method]
	if !ok {
		return nil, errors.New("Method not found")
	}
	return f(params)
}

func (n scriptedNode) CallBatch(ctx context.Context, method string, params [][]any) (
	[]json.RawMessage, []error, error) {
	raws, errs := make([]json.RawMessage, len(params)), make([]error, len(params))
	for i, ps := range params {
		raws[i], errs[i] = n.Call(ctx, method, ps...)
	}
	return raws, errs, nil
}

// TestNewNeedsPrevouts: a node that can resolve prevouts neither by getblock verbosity 3
// nor by a transaction index is refused at start, saying how to fix it.
func TestNewNeedsPrevouts(t *testing.T) {
	info := func(v string) func([]any) (json.RawMessage, error) {
		return func([]any) (json.RawMessage, error) { return json.RawMessage(v), nil }
	}
	noIndex := func([]any) (json.RawMessage, error) {
		return nil, errors.New("-5: No such mempool transaction. Use -txindex or provide " +
			"a block hash to enable blockchain transaction queries.")
	}
	tests := []struct {
		name          string
		node          scriptedNode
		wantVerbosity int
		wantErr       string
	}{
		{"bitcoind 23+", scriptedNode{"getnetworkinfo": info(
			`{"version":270000,"subversion":"/Satoshi:27.0.0/"}`)}, 3, ""},
		{"btcd with txindex", scriptedNode{"getnetworkinfo": info(
			`{"version":260200,"subversion":"/btcwire:0.5.0/btcd:0.26.2/"}`),
			"getrawtransaction": func([]any) (json.RawMessage, error) {
				return nil, errors.New("-5: No information available about transaction")
			}}, 2, ""},
		{"old bitcoind without txindex", scriptedNode{"getnetworkinfo": info(
			`{"version":220000,"subversion":"/Satoshi:22.0.0/"}`),
			"getrawtransaction": noIndex}, 0, "txindex=1"},
		{"no getnetworkinfo, no getrawtransaction", scriptedNode{}, 0, "no transaction index"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(context.Background(), tt.node, Options{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || s.verbosity != tt.wantVerbosity {
				t.Fatalf("got %v; want verbosity %d", err, tt.wantVerbosity)
			}
		})
	}
}

// FuzzDecodeBlock: whatever the node sends, decoding errs or gives movements with a chain,
// a tx, and legs with amounts.
func FuzzDecodeBlock(f *testing.F) {
	f.Add([]byte(`{"hash":"` + strings.Repeat("a", 64) + `","height":1,"time":5,"tx":[` +
		`{"txid":"` + strings.Repeat("b", 64) + `","vin":[{"coinbase":"00"}],"vout":[` +
		`{"value":50.0,"n":0,"scriptPubKey":{"hex":"51"}}]}]}`))
	f.Add([]byte(`{"hash":"` + strings.Repeat("a", 64) + `","height":2,"time":5,"tx":[` +
		`{"txid":"` + strings.Repeat("b", 64) + `","vin":[{"txid":"` + strings.Repeat("c", 64) +
		`","vout":0,"prevout":{"value":1,"scriptPubKey":{"hex":"6a"}}}],"vout":[` +
		`{"value":0.5,"n":0,"scriptPubKey":{"hex":"0014751e76e8199196d454941c45d1b3a323f1433bd6"}}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		blk, err := decodeBlock(b, "bitcoin", &chaincfg.MainNetParams,
			func(spends []outpoint) (map[outpoint]output, error) {
				out := map[outpoint]output{}
				for _, op := range spends {
					out[op] = output{Value: 1, ScriptType: "nonstandard"}
				}
				return out, nil
			})
		if err != nil {
			return
		}
		for _, m := range blk.Movements {
			if m.Tx == "" || len(m.Inputs) == 0 || len(m.Outputs) == 0 {
				t.Fatalf("movement without tx or legs: %+v", m)
			}
			for _, l := range append(m.Inputs, m.Outputs...) {
				if l.Amount == nil || l.Amount.Sign() < 0 {
					t.Fatalf("leg with a bad amount: %+v", l)
				}
			}
		}
	})
}

// FuzzDecodeRawTransaction: getrawtransaction results decode to outputs or an error.
func FuzzDecodeRawTransaction(f *testing.F) {
	f.Add([]byte(`{"txid":"` + strings.Repeat("b", 64) + `","vout":[{"value":50.0,"n":0,` +
		`"scriptPubKey":{"hex":"76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac",` +
		`"addresses":["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"]}}]}`))
	f.Add([]byte(`{"vout":[{"value":1e-8,"scriptPubKey":{"hex":"6a"}}]}`))
	s := &Source{params: &chaincfg.MainNetParams}
	f.Fuzz(func(t *testing.T, b []byte) {
		outs, err := s.decodeOutputs("tx", b)
		if err != nil {
			return
		}
		for i, o := range outs {
			if o.Value < 0 || o.Value > maxSatoshi || o.ScriptType == "" {
				t.Fatalf("output %d: %+v", i, o)
			}
		}
	})
}
