package taint

import (
	"math/big"
	"reflect"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/watcher/rules"
)

func sampleTaint() rules.Taint {
	huge, _ := new(big.Int).SetString("115792089237316195423570985008687907853269984665640", 10)
	return rules.Taint{Root: "0xroot", Source: rules.Source{Entity: "Lazarus Group",
		Category: "sanctioned", List: "ofac"}, By: "dev/0xt/log:3",
		Path: []rules.Hop{
			{Chain: "dev", Block: 7, Tx: "0xt1", Position: "tx", From: "0xroot", To: "0xa",
				Asset: "native", Amount: big.NewInt(1e18)},
			{Chain: "dev", Block: 9, Tx: "0xt", Position: "log:3", From: "0xa", To: "0xb",
				Asset: "0xtoken", Amount: huge},
		}}
}

func TestTaintCodec(t *testing.T) {
	withAmount := sampleTaint()
	withAmount.Amount = big.NewInt(4_750_000)
	fifo := sampleTaint()
	fifo.Path[1].Time = time.Date(2024, 3, 1, 12, 0, 0, 500, time.UTC)
	fifo.Path[1].Tainted = big.NewInt(3)
	fifo.Lots = []rules.Lot{{Amount: big.NewInt(5)}, {Amount: big.NewInt(7), Tainted: true}}
	holdings := sampleTaint()
	holdings.Holdings = []rules.Holding{
		{Asset: "native", Balance: big.NewInt(100), Tainted: big.NewInt(40)},
		{Asset: "0xusdt", Lots: []rules.Lot{{Amount: big.NewInt(1), Tainted: true}}}}
	for _, give := range []rules.Taint{sampleTaint(), withAmount, fifo, holdings} {
		testRoundTrip(t, give)
	}
}

// Versions 1 and 2 (hops without time or tainted part, no lots or holdings; version 1 also
// without the tainted amount), as earlier versions stored them, still decode.
func TestTaintCodecOldVersions(t *testing.T) {
	hop := func(b []byte, chain string, block byte, tx, pos, from, to, asset string,
		amount byte) []byte {
		b = append(append(b, byte(len(chain))), chain...)
		b = append(b, block)
		for _, s := range []string{tx, pos, from, to, asset} {
			b = append(append(b, byte(len(s))), s...)
		}
		return append(b, 1, amount)
	}
	head := func(version byte) []byte {
		b := []byte{version}
		for _, s := range []string{"0xr", "E", "hack", "l", "by"} {
			b = append(append(b, byte(len(s))), s...)
		}
		return hop(append(b, 1), "dev", 7, "0xt", "tx", "0xr", "0xa", "native", 5)
	}
	want := rules.Taint{Root: "0xr", Source: rules.Source{Entity: "E", Category: "hack",
		List: "l"}, By: "by", Path: []rules.Hop{{Chain: "dev", Block: 7, Tx: "0xt",
		Position: "tx", From: "0xr", To: "0xa", Asset: "native", Amount: big.NewInt(5)}}}
	withAmount := want
	withAmount.Amount = big.NewInt(4)
	tests := []struct {
		name string
		give []byte
		want rules.Taint
	}{
		{"version 1", head(taintVersion1), want},
		{"version 2 without amount", append(head(taintVersion2), 0), want},
		{"version 2 with amount", append(head(taintVersion2), 1, 1, 4), withAmount},
	}
	for _, tt := range tests {
		got, err := decode(tt.give)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v, %v", tt.name, got, err)
		}
	}
}

func testRoundTrip(t *testing.T, give rules.Taint) {
	t.Helper()
	b, err := encode(give)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, give) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, give)
	}
	for n := range len(b) {
		if _, err := decode(b[:n]); err == nil {
			t.Fatalf("a prefix of %d of %d bytes decoded", n, len(b))
		}
	}
	if _, err := decode(append(b, 0)); err == nil {
		t.Fatal("trailing byte decoded")
	}
	bad := sampleTaint()
	bad.Path[0].Amount = big.NewInt(-1)
	if _, err := encode(bad); err == nil {
		t.Fatal("negative amount encoded")
	}
}

// Taints that an earlier version stored as JSON still decode.
func TestTaintLegacyJSON(t *testing.T) {
	got, err := decode([]byte(`{"root":"0xr","entity":"E","category":"hack","list":"l",` +
		`"path":[{"chain":"dev","block":3,"tx":"0xt","position":"tx","from":"0xr",` +
		`"to":"0xa","asset":"native","amount":"5"}],"by":"dev/0xt/tx"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Root != "0xr" || got.By != "dev/0xt/tx" || len(got.Path) != 1 ||
		got.Path[0].Amount.Int64() != 5 || got.Source.Entity != "E" {
		t.Fatalf("got %+v", got)
	}
	if _, err := decode([]byte(`{"path":[{"amount":"-5"}]}`)); err == nil {
		t.Fatal("negative legacy amount decoded")
	}
}

func FuzzDecodeTaint(f *testing.F) {
	b, err := encode(sampleTaint())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"root":"r","path":[{"amount":"1"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tt, err := decode(b)
		if err != nil {
			return
		}
		again, err := encode(tt)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decode(again); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
	})
}
