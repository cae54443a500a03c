package chains

import (
	"encoding/json"
	"math/big"
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
