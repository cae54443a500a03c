package chains

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestAppendTransferJSONL(t *testing.T) {
	amount, _ := new(big.Int).SetString("115792089237316195423570985008687907853269984665640564039457584007913129639935", 10)
	m := &Movement{
		Chain: "ethereum",
		Block: BlockRef{Number: 17000000, Hash: "0xabc",
			Time: time.Date(2023, 4, 8, 12, 0, 5, 0, time.FixedZone("x", 3600))},
		Tx: "0xdef", Position: "log:12", Kind: KindToken,
		Inputs:  []Leg{{Address: "0x01", Asset: "0xtok", Amount: amount}},
		Outputs: []Leg{{Address: "0x02", Asset: "0xtok", Amount: amount}},
	}
	got, err := AppendTransferJSONL(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"chain":"ethereum","block":17000000,"block_hash":"0xabc",` +
		`"time":"2023-04-08T11:00:05Z","tx":"0xdef","position":"log:12","kind":"token",` +
		`"from":"0x01","to":"0x02","asset":"0xtok","amount":"` + amount.String() + `"}` + "\n"
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if _, err := AppendTransferJSONL(nil, &Movement{}); err == nil {
		t.Fatal("want an error for a movement without legs")
	}
}

func TestAppendUTXOJSONL(t *testing.T) {
	m := &Movement{Chain: "bitcoin", Block: BlockRef{Number: 50001, Hash: "00ab",
		Time: time.Unix(1270917100, 0)}, Tx: "7940", Position: PositionTx, Kind: KindUTXO,
		Inputs: []Leg{{Address: "1Do", Asset: AssetNative, Amount: big.NewInt(5e9),
			PrevTx: "76a8", PrevIndex: 3}},
		Outputs: []Leg{{Address: "1Ha", Asset: AssetNative, Amount: big.NewInt(4e9),
			ScriptType: "pubkeyhash"}, {Asset: AssetNative, Amount: big.NewInt(0), Index: 1,
			ScriptType: "nulldata"}}}
	got, err := AppendJSONL(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"chain":"bitcoin","block":50001,"block_hash":"00ab","time":"2010-04-10T16:31:40Z",` +
		`"tx":"7940","position":"tx","kind":"utxo","inputs":[{"address":"1Do",` +
		`"amount":"5000000000","prev_tx":"76a8","prev_index":3}],"outputs":[{"index":0,` +
		`"address":"1Ha","amount":"4000000000"},{"index":1,"address":"","amount":"0",` +
		`"script_type":"nulldata"}]}` + "\n"
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	coinbase := *m
	coinbase.Inputs = []Leg{{Asset: AssetNative, Amount: new(big.Int), Coinbase: true}}
	got, err = AppendJSONL(nil, &coinbase)
	if err != nil || !json.Valid(got) || !strings.Contains(string(got),
		`"inputs":[{"coinbase":true}]`) {
		t.Fatalf("coinbase: %s, %v", got, err)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("ethereum")
	f.Add("a\"b\\c\n\x00\xff☃")
	f.Fuzz(func(t *testing.T, s string) {
		var back string
		if err := json.Unmarshal(appendJSONString(nil, s), &back); err != nil {
			t.Fatalf("%q: invalid JSON: %v", s, err)
		}
	})
}
