package taint

import (
	"math/big"
	"reflect"
	"testing"

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
	for _, give := range []rules.Taint{sampleTaint(), withAmount} {
		testRoundTrip(t, give)
	}
	// Version 1 (no amount) still decodes.
	b, err := encode(sampleTaint())
	if err != nil {
		t.Fatal(err)
	}
	v1 := append([]byte{taintVersion1}, b[1:len(b)-1]...)
	if got, err := decode(v1); err != nil || !reflect.DeepEqual(got, sampleTaint()) {
		t.Fatalf("version 1: %+v, %v", got, err)
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
