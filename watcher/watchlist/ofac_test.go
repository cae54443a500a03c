package watchlist

import (
	"encoding/csv"
	"os"
	"path/filepath"
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
