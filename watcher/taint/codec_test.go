package taint

import (
	"fmt"
	"math/big"
	"reflect"
	"runtime"
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

// fifoHeld is t as FIFO keeps it: hop's tainted part, and a holding of asset whose queue
// is 1e18 of watched funds, then 2e18 clean.
func fifoHeld(t rules.Taint, hop int, tainted int64, asset string) rules.Taint {
	t.Path[hop].Tainted = big.NewInt(tainted)
	t.Holdings = []rules.Holding{{Asset: asset, Lots: []rules.Lot{
		{Amount: big.NewInt(1e18), Tainted: true}, {Amount: big.NewInt(2e18)}}}}
	return t
}

// BenchmarkDecodeTaint decodes a two-hop taint under FIFO, with its holding, as a worker
// reads one into its cache from Redis.
func BenchmarkDecodeTaint(b *testing.B) {
	enc, err := encode(fifoHeld(sampleTaint(), 1, 3, "0xtoken"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHeldTaints measures what a worker's cache of decoded taints costs the
// collector: 100,000 addresses' taints under the three models, one hop from their source,
// decoded and kept as the cache keeps them; each op is a full collection with them live.
// B/taint is the heap they hold, gc-ns/taint a collection's time per taint held (run with
// GOMAXPROCS=1 for one core's). The yardstick for a leaner form of the cache's states.
func BenchmarkHeldTaints(b *testing.B) {
	const addrs = 100_000
	var all []byte // the encoded taints end to end, one object, live throughout
	ends := make([]int, 0, 3*addrs)
	for i := range addrs {
		for model := range 3 {
			t := sampleTaint()
			t.Path = t.Path[:1]
			t.Path[0].To = fmt.Sprintf("0x%040x", i)
			switch model {
			case 1:
				t.Path[0].Tainted = big.NewInt(1e18)
				t.Holdings = []rules.Holding{{Asset: "native", Balance: big.NewInt(3e18),
					Tainted: big.NewInt(1e18)}}
			case 2:
				t = fifoHeld(t, 0, 1e18, "native")
			}
			enc, err := encode(t)
			if err != nil {
				b.Fatal(err)
			}
			all = append(all, enc...)
			ends = append(ends, len(all))
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	kept := make([]*rules.Taint, len(ends))
	start := 0
	for i, end := range ends {
		t, err := decode(all[start:end])
		if err != nil {
			b.Fatal(err)
		}
		kept[i], start = &t, end
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	for b.Loop() {
		runtime.GC()
	}
	n := float64(len(kept))
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/taint")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "gc-ns/taint")
	runtime.KeepAlive(kept)
	runtime.KeepAlive(all)
}
