package watchlist

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/flowwatch/flowwatch/chains"
)

func sanctionsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("FLOWWATCH_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	dir = filepath.Join(dir, "sanctions")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("shared data not found (want ../shared beside the checkout or "+
			"FLOWWATCH_DATA): %v", err)
	}
	return dir
}

// TestReadOFACXML reads the real SDN advanced XML excerpts and checks every digital-currency
// address feature against the per-feature CSV derived from the same file (asset, address,
// primary name, programmes, entry date): each one is an entry or a rejection, and the only
// rejections are addresses that do not fit their asset, each explained.
func TestReadOFACXML(t *testing.T) {
	for _, date := range []string{"2025-11-19", "2025-03-04"} {
		t.Run(date, func(t *testing.T) {
			dir := sanctionsDir(t)
			f, err := os.Open(filepath.Join(dir, "sdn_advanced_"+date+
				"_digital_currency_excerpt.xml"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			entries, rejected, err := ReadOFACXML(f.Name(), f)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, e := range entries {
				if e.Origin.Date.Format("2006-01-02") != date || e.Category != "sanctioned" {
					t.Fatalf("entry %+v", e)
				}
				got[strings.Join([]string{e.Asset, e.Entity, strings.Join(e.Programs, ";"),
					e.ValidFrom.Format("2006-01-02")}, ",")]++
			}
			for _, r := range rejected {
				t.Logf("rejected: %s:%d %s: %s", filepath.Base(r.File), r.Line, r.Element,
					r.Reason)
			}
			want := map[string]int{}
			rows := readCSV(t, filepath.Join(dir, "ofac_sdn_digital_currency_addresses_"+
				date+".csv"))
			for _, r := range rows {
				want[strings.Join([]string{r[0], r[3], r[5], r[6]}, ",")]++
			}
			if len(entries)+len(rejected) != len(rows) {
				t.Fatalf("%d entries + %d rejected, the file has %d address features",
					len(entries), len(rejected), len(rows))
			}
			for _, r := range rejected {
				k := ""
				for _, row := range rows {
					if row[1] == r.Address {
						k = strings.Join([]string{row[0], row[3], row[5], row[6]}, ",")
					}
				}
				if !strings.Contains(r.Reason, "does not fit asset") || k == "" {
					t.Fatalf("unexpected rejection %+v", r)
				}
				got[k]++
			}
			if diff := mapDiff(got, want); diff != "" {
				t.Fatalf("entries differ from the derived CSV:\n%s", diff)
			}
		})
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows[1:]
}

func mapDiff(got, want map[string]int) string {
	var out []string
	for k, n := range want {
		if got[k] != n {
			out = append(out, "want "+k+" ×"+itoa(n)+", got ×"+itoa(got[k]))
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok {
			out = append(out, "extra "+k+" ×"+itoa(n))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func itoa(n int) string { return strconv.Itoa(n) }

// An unterminated quote is a rejection naming its line, not a panic (found by FuzzReadCSV).
func TestReadCSVBadQuote(t *testing.T) {
	in := "chain,address,role,category,entity,source,valid_from,valid_to\n" +
		"ethereum,0x28C6c06298d514Db089934071355E5743bf21d60,label,exchange,B,x,,\n" +
		"\"0000\n"
	entries, rejected, err := ReadCSV("l.csv", strings.NewReader(in),
		func(string) (chains.Family, string, bool) { return chains.FamilyEVM, "", true })
	if err != nil || len(entries) != 1 || len(rejected) != 1 || rejected[0].Line != 3 ||
		!strings.Contains(rejected[0].Error(), "l.csv:3:") {
		t.Fatalf("entries %d, rejected %+v, %v", len(entries), rejected, err)
	}
}

// TestReadAssetLists: the per-asset TXT and JSON lists of 2025-11-19 hold the same
// addresses as the SDN XML of that day (as their maker says), rejected the same way, with
// the lines of the rejected ones.
func TestReadAssetLists(t *testing.T) {
	dir := sanctionsDir(t)
	f, err := os.Open(filepath.Join(dir, "sdn_advanced_2025-11-19_digital_currency_excerpt.xml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	xmlEntries, xmlRejected, err := ReadOFACXML(f.Name(), f)
	if err != nil {
		t.Fatal(err)
	}
	want := keySet(xmlEntries)
	for _, ext := range []string{"txt", "json"} {
		files, _ := filepath.Glob(filepath.Join(dir, "ofac-brave-intl-2025-11-19",
			"sanctioned_addresses_*."+ext))
		var entries []Entry
		var rejected []Rejection
		for _, name := range files {
			asset, ok := AssetListAsset(name)
			if !ok {
				t.Fatalf("%s: no asset in the name", name)
			}
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			es, rs, err := ReadAssetList(name, asset, bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			entries, rejected = append(entries, es...), append(rejected, rs...)
			for _, r := range rs {
				if lines := strings.Split(string(b), "\n"); r.Line < 1 ||
					!strings.Contains(lines[r.Line-1], r.Address) {
					t.Fatalf("%s: rejection %+v does not name the address's line", ext, r)
				}
			}
		}
		if got := keySet(entries); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s lists: %d addresses, the XML %d", ext, len(got), len(want))
		}
		if len(rejected) != len(xmlRejected) {
			t.Fatalf("%s lists: %d rejected, the XML %d", ext, len(rejected), len(xmlRejected))
		}
	}
}

func keySet(es []Entry) map[string]bool {
	out := map[string]bool{}
	for _, e := range es {
		out[e.Asset+" "+e.Chain+" "+e.Address] = true
	}
	return out
}

func FuzzReadAssetList(f *testing.F) {
	f.Add("x.json", []byte("[\n  \"TQ5H49Wz3K57zNHmuXVp6uLzFwitxviABs\",\n  \"x\"\n]\n"))
	f.Add("x.txt", []byte("13YBQr2Cp1YY3xqq2qngaPb7ca1o4ugeq6\n# comment\nbad\n"))
	f.Fuzz(func(t *testing.T, name string, b []byte) {
		if !strings.HasSuffix(name, ".json") {
			name = "x.txt"
		}
		entries, rejected, err := ReadAssetList(name, "TRX", bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.Chain != ChainTron || e.Origin.Line < 1 {
				t.Fatalf("entry %+v", e)
			}
		}
		for _, r := range rejected {
			if r.Line < 1 || r.Reason == "" {
				t.Fatalf("rejection %+v", r)
			}
		}
	})
}
