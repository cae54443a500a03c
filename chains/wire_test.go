package chains

import (
	"math/big"
	"reflect"
	"testing"
	"time"
)

func TestMovementWireRoundTrip(t *testing.T) {
	huge, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	tests := []struct {
		name string
		give Movement
	}{
		{"evm token", Movement{Chain: "ethereum", Block: BlockRef{Number: 7, Hash: "0xb",
			ParentHash: "0xa", Time: time.Unix(1700000000, 0).UTC()}, Tx: "0xt", TxIndex: 3,
			Position: "log:4", Kind: KindToken,
			Inputs:  []Leg{{Address: "0x1", Asset: "0xc", Amount: huge}},
			Outputs: []Leg{{Address: "0x2", Asset: "0xc", Amount: huge}}}},
		{"removed utxo", Movement{Chain: "bitcoin", Block: BlockRef{Number: 1,
			Time: time.Unix(1231469665, 0).UTC()}, Tx: "0e3e", Position: "vout:0",
			Kind: KindUTXO, Removed: true,
			Inputs: []Leg{{Asset: "native", Amount: big.NewInt(0), Coinbase: true}},
			Outputs: []Leg{{Address: "12c6", Asset: "native", Amount: big.NewInt(5e9),
				ScriptType: "pubkey"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := MarshalMovement(&tt.give)
			if err != nil {
				t.Fatal(err)
			}
			got, err := UnmarshalMovement(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.give) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tt.give)
			}
		})
	}
}

func TestUnmarshalMovementErrors(t *testing.T) {
	tests := []struct{ name, give string }{
		{"not json", `{`},
		{"no tx", `{"chain":"c","position":"tx","inputs":[{"amount":"1"}]}`},
		{"no legs", `{"chain":"c","tx":"t","position":"tx"}`},
		{"negative", `{"chain":"c","tx":"t","position":"tx","inputs":[{"amount":"-1"}]}`},
		{"float", `{"chain":"c","tx":"t","position":"tx","inputs":[{"amount":"1.5"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := UnmarshalMovement([]byte(tt.give)); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func FuzzUnmarshalMovement(f *testing.F) {
	f.Add([]byte(`{"chain":"c","tx":"t","position":"tx","inputs":[{"amount":"1"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := UnmarshalMovement(b)
		if err != nil {
			return
		}
		again, err := MarshalMovement(&m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := UnmarshalMovement(again); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
	})
}
