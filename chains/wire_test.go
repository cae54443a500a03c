package chains

import (
	"encoding/json"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
)

// marshalJSON is the JSON wire form that versions before the binary one wrote.
func marshalJSON(m *Movement) ([]byte, error) {
	w := wireMovement{Chain: m.Chain, Block: m.Block.Number, BlockHash: m.Block.Hash,
		ParentHash: m.Block.ParentHash, Time: m.Block.Time.UTC(), Tx: m.Tx, TxIndex: m.TxIndex,
		Position: m.Position, Kind: m.Kind, Removed: m.Removed,
		Inputs: toWire(m.Inputs), Outputs: toWire(m.Outputs)}
	return json.Marshal(&w)
}

func toWire(legs []Leg) []wireLeg {
	out := make([]wireLeg, len(legs))
	for i, l := range legs {
		amount := "0"
		if l.Amount != nil {
			amount = l.Amount.String()
		}
		out[i] = wireLeg{Address: l.Address, Asset: l.Asset, Amount: amount, PrevTx: l.PrevTx,
			PrevIndex: l.PrevIndex, Coinbase: l.Coinbase, Index: l.Index,
			ScriptType: l.ScriptType}
	}
	return out
}
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
		{"bridge deposit event", Movement{Chain: "ethereum", Block: BlockRef{Number: 9,
			Hash: "0xb", Time: time.Unix(1700000000, 0).UTC()}, Tx: "0xt", Position: "log:2",
			Kind: KindEvent, Event: EventBridgeDeposit, EventContract: "0x2", ToChain: "42161",
			Inputs:  []Leg{{Address: "0x1", Asset: "native", Amount: big.NewInt(7)}},
			Outputs: []Leg{{Address: "0x2", Asset: "native", Amount: big.NewInt(7)}}}},
		{"native into a mixer pool", Movement{Chain: "ethereum", Tx: "0xt", Position: "tx",
			Kind: KindNative, Event: EventMixerDeposit, EventContract: "0x3", Block: BlockRef{Time: time.Unix(0, 0).UTC()},
			Inputs:  []Leg{{Address: "0x1", Asset: "native", Amount: big.NewInt(1)}},
			Outputs: []Leg{{Address: "0x2", Asset: "native", Amount: big.NewInt(1)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, enc := range []struct {
				name string
				f    func(*Movement) ([]byte, error)
			}{{"binary", MarshalMovement}, {"json (earlier versions)", marshalJSON}} {
				if tt.give.Event != "" && enc.name != "binary" {
					continue // earlier versions knew no events
				}
				b, err := enc.f(&tt.give)
				if err != nil {
					t.Fatal(err)
				}
				got, err := UnmarshalMovement(b)
				if err != nil {
					t.Fatalf("%s: %v", enc.name, err)
				}
				if !reflect.DeepEqual(got, tt.give) {
					t.Fatalf("%s round trip:\n got %+v\nwant %+v", enc.name, got, tt.give)
				}
			}
		})
	}
}

// TestUnmarshalMovements: a batch decodes to what decoding each payload alone gives, with a
// malformed payload in the middle reported at its index and the others unaffected.
func TestUnmarshalMovements(t *testing.T) {
	base := Movement{Chain: "ethereum", Block: BlockRef{Number: 7, Hash: "0xb", ParentHash: "0xa",
		Time: time.Unix(1700000000, 0).UTC()}, Tx: "0xt", Position: "log:1", Kind: KindToken,
		Inputs:  []Leg{{Address: "0x1", Asset: "0xc", Amount: big.NewInt(5)}},
		Outputs: []Leg{{Address: "0x2", Asset: "0xc", Amount: big.NewInt(5)}}}
	other := base
	other.Block.Hash, other.Tx, other.Position, other.Kind = "0xd", "0xu", "tx", KindNative
	other.Inputs = []Leg{{Address: "0x3", Asset: "native", Amount: big.NewInt(1)}}
	other.Outputs = []Leg{{Address: "0x4", Asset: "native", Amount: big.NewInt(1),
		ScriptType: "s"}, {Address: "0x5", Asset: "0xc", Amount: big.NewInt(2)}}
	var payloads [][]byte
	for _, m := range []*Movement{&base, &base, &other, nil, &other, &base} {
		b := []byte{wireVersion, 0xff} // malformed
		if m != nil {
			var err error
			if b, err = MarshalMovement(m); err != nil {
				t.Fatal(err)
			}
		}
		payloads = append(payloads, b)
	}
	got, errs := UnmarshalMovements(payloads)
	for i, p := range payloads {
		want, wantErr := UnmarshalMovement(p)
		if (wantErr != nil) != (errs != nil && errs[i] != nil) {
			t.Fatalf("payload %d: batch error %v, alone %v", i, errs[i], wantErr)
		}
		if wantErr == nil && !reflect.DeepEqual(got[i], want) {
			t.Fatalf("payload %d:\n batch %+v\n alone %+v", i, got[i], want)
		}
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

func TestUnmarshalMovementBinaryErrors(t *testing.T) {
	good, err := MarshalMovement(&Movement{Chain: "c", Tx: "t", Position: "tx",
		Kind: KindNative, Block: BlockRef{Number: 9, Time: time.Unix(1, 0)},
		Inputs:  []Leg{{Address: "a", Asset: "native", Amount: big.NewInt(300)}},
		Outputs: []Leg{{Address: "b", Asset: "native", Amount: big.NewInt(300)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UnmarshalMovement(good); err != nil {
		t.Fatal(err)
	}
	// Every proper prefix is truncated and must be an error, never a panic or a movement.
	for n := range len(good) {
		if m, err := UnmarshalMovement(good[:n]); err == nil {
			t.Fatalf("prefix of %d of %d bytes decoded as %+v", n, len(good), m)
		}
	}
	tests := []struct {
		name    string
		give    []byte
		wantErr string
	}{
		{"unknown version", append([]byte{9}, good[1:]...), "unknown wire version 9"},
		{"trailing bytes", append(append([]byte{}, good...), 0), "1 bytes after the end"},
		{"huge leg count", []byte{1, 1, 'c', 0, 0, 1, 't', 2, 't', 'x', 0, 0, 0, 0, 0, 0,
			0xff, 0xff, 0xff, 0x0f}, "truncated"},
		{"huge string", []byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f}, "truncated"},
		{"no legs", []byte{1, 1, 'c', 0, 0, 1, 't', 2, 't', 'x', 0, 0, 0, 0, 0, 0, 0, 0},
			"no legs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UnmarshalMovement(tt.give)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

func TestMarshalMovementRejectsBadAmount(t *testing.T) {
	for _, amount := range []*big.Int{nil, big.NewInt(-1)} {
		_, err := MarshalMovement(&Movement{Chain: "c", Tx: "t", Position: "tx",
			Inputs: []Leg{{Address: "a", Amount: amount}}})
		if err == nil {
			t.Fatalf("amount %v: want an error", amount)
		}
	}
}

func FuzzUnmarshalMovement(f *testing.F) {
	f.Add([]byte(`{"chain":"c","tx":"t","position":"tx","inputs":[{"amount":"1"}]}`))
	seed, err := MarshalMovement(&Movement{Chain: "c", Tx: "t", Position: "vout:1",
		Kind: KindUTXO, Block: BlockRef{Number: 9, Hash: "h", Time: time.Unix(1, 5)},
		Inputs: []Leg{{Address: "a", Asset: "native", Amount: big.NewInt(1e9), PrevTx: "p",
			PrevIndex: 3}},
		Outputs: []Leg{{Address: "b", Asset: "native", Amount: big.NewInt(7), Index: 1,
			ScriptType: "witness_v0_keyhash"}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
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

// BenchmarkUnmarshalMovement compares the binary wire form with the JSON form it replaced,
// on a token transfer.
func BenchmarkUnmarshalMovement(b *testing.B) {
	amount, _ := new(big.Int).SetString("123456789012345678901", 10)
	m := Movement{Chain: "ethereum", Block: BlockRef{Number: 18000000,
		Hash:       "0x95b198e154acbfc64109dfd22d8224fe927fd8dfdedfae01587674482ba4baf3",
		ParentHash: "0x2b3ea3cd4befcab070812443affb08bf17a91ce382c714a536ca3cacab82278b",
		Time:       time.Unix(1693066895, 0).UTC()},
		Tx:       "0x16e199673891df518e25db2ef5320155da82a3dd71a677e7d84363251885d133",
		Position: "log:12", Kind: KindToken,
		Inputs: []Leg{{Address: "0x28c6c06298d514db089934071355e5743bf21d60",
			Asset: "0xdac17f958d2ee523a2206206994597c13d831ec7", Amount: amount}},
		Outputs: []Leg{{Address: "0xa160cdab225685da1d56aa342ad8841c3b53f291",
			Asset: "0xdac17f958d2ee523a2206206994597c13d831ec7", Amount: amount}}}
	for _, enc := range []struct {
		name string
		f    func(*Movement) ([]byte, error)
	}{{"binary", MarshalMovement}, {"json", marshalJSON}} {
		p, err := enc.f(&m)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(enc.name, func(b *testing.B) {
			b.ReportMetric(float64(len(p)), "bytes/entry")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := UnmarshalMovement(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
