package chains

import (
	"bytes"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
)

func jsonlSamples() []Movement {
	at := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	ref := BlockRef{Number: 17, Hash: "0xab", Time: at}
	evm := func(kind Kind, pos, asset string, n int64) Movement {
		return Movement{Chain: "ethereum", Block: ref, Tx: "0x01", Position: pos, Kind: kind,
			Inputs:  []Leg{{Address: "0xaa", Asset: asset, Amount: big.NewInt(n)}},
			Outputs: []Leg{{Address: "0xbb", Asset: asset, Amount: big.NewInt(n)}}}
	}
	btc := Movement{Chain: "bitcoin", Block: BlockRef{Number: 5, Hash: "00ff", Time: at},
		Tx: "beef", Position: PositionTx, Kind: KindUTXO,
		Inputs: []Leg{{Address: "bc1qx", Asset: AssetNative, Amount: big.NewInt(5000),
			PrevTx: "aa", PrevIndex: 3}},
		Outputs: []Leg{{Address: "bc1qy", Asset: AssetNative, Amount: big.NewInt(4000)},
			{Asset: AssetNative, Amount: big.NewInt(0), Index: 1, ScriptType: "nulldata"}}}
	coinbase := Movement{Chain: "bitcoin", Block: btc.Block, Tx: "c0", Position: PositionTx,
		Kind: KindUTXO, Inputs: []Leg{{Coinbase: true, Asset: AssetNative}},
		Outputs: []Leg{{Address: "bc1qz", Asset: AssetNative, Amount: big.NewInt(625)}}}
	return []Movement{evm(KindNative, PositionTx, AssetNative, 10),
		evm(KindToken, "log:4", "0xdac1", 7), evm(KindInternal, "trace:0_1", AssetNative, 3),
		btc, coinbase}
}

// TestReadJSONL: what extract writes reads back as the same movements.
func TestReadJSONL(t *testing.T) {
	var file []byte
	want := jsonlSamples()
	for i := range want {
		var err error
		if file, err = AppendJSONL(file, &want[i]); err != nil {
			t.Fatal(err)
		}
	}
	var got []Movement
	if err := ReadJSONL(bytes.NewReader(file), func(m *Movement) error {
		got = append(got, *m)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back:\n%+v\nwant:\n%+v", got, want)
	}
}

func TestReadJSONLErrors(t *testing.T) {
	good := `{"chain":"ethereum","block":1,"block_hash":"0x1","time":"2024-01-01T00:00:00Z",` +
		`"tx":"0x2","position":"tx","kind":"native","from":"0xa","to":"0xb",` +
		`"asset":"native","amount":"5"}`
	tests := []struct {
		name, give, wantErr string
	}{
		{"not json", good + "\n{", "line 2: unexpected end"},
		{"negative amount", strings.Replace(good, `"5"`, `"-5"`, 1), "line 1: amount"},
		{"no block", strings.Replace(good, `"block":1,`, "", 1), "block is required"},
		{"bad time", strings.Replace(good, "2024-01-01T00:00:00Z", "yesterday", 1), "time"},
		{"unknown kind", strings.Replace(good, `"native","from"`, `"magic","from"`, 1),
			`kind "magic"`},
		{"no to", strings.Replace(good, `"to":"0xb",`, "", 1), "from, to and asset"},
		{"utxo without outputs", `{"chain":"bitcoin","block":1,"block_hash":"00",` +
			`"time":"2024-01-01T00:00:00Z","tx":"aa","position":"tx","kind":"utxo",` +
			`"inputs":[],"outputs":[]}`, "without outputs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ReadJSONL(strings.NewReader(tt.give), func(*Movement) error { return nil })
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzReadJSONL(f *testing.F) {
	for _, m := range jsonlSamples() {
		b, _ := AppendJSONL(nil, &m)
		f.Add(b)
	}
	f.Add([]byte(`{"kind":"utxo","inputs":[{"coinbase":true}],"outputs":[{}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var first []Movement
		if ReadJSONL(bytes.NewReader(raw), func(m *Movement) error {
			first = append(first, *m)
			return nil
		}) != nil {
			return
		}
		var again []byte
		for i := range first { // what reads writes back and reads the same
			var err error
			if again, err = AppendJSONL(again, &first[i]); err != nil {
				return // e.g. a one-sided transfer the writer refuses
			}
		}
		var second []Movement
		if err := ReadJSONL(bytes.NewReader(again), func(m *Movement) error {
			second = append(second, *m)
			return nil
		}); err != nil {
			t.Fatalf("what was read and written again does not read: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(first, second) {
			t.Fatalf("read %+v, then %+v", first, second)
		}
	})
}
