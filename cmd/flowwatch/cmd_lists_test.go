package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListsInspect: `lists inspect --format json` on the real 2025-11-19 SDN excerpt reports
// all 761 digital-currency address features, by asset as OFAC names them, and rejects only
// the two whose address does not fit the asset, with file, line and reason.
func TestListsInspect(t *testing.T) {
	xml := filepath.Join("..", "..", "..", "shared", "data", "sanctions",
		"sdn_advanced_2025-11-19_digital_currency_excerpt.xml")
	csv := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(csv, []byte(strings.Join(csvHeaderForTest, ",")+"\n"+
		"ethereum,0x28C6c06298d514Db089934071355E5743bf21d60,label,exchange,Binance 14,x,,\n"+
		"ethereum,0xnothex,source,hack,x,x,,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"lists", "inspect", "--format", "json", xml, csv}, &stdout,
		&stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var got struct {
		Total    int            `json:"total"`
		ByAsset  map[string]int `json:"by_asset"`
		ByChain  map[string]int `json:"by_chain"`
		Rejected []struct {
			File    string `json:"file"`
			Line    int    `json:"line"`
			Address string `json:"address"`
			Reason  string `json:"reason"`
		} `json:"rejected"`
		Files []struct {
			File  string `json:"file"`
			Total int    `json:"total"`
		} `json:"files"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Total != 763 || len(got.Files) != 2 || got.Files[0].Total != 761 ||
		got.ByAsset["XBT"] != 518 || got.ByAsset["USDT"] != 93 || got.ByChain["tron"] != 107 {
		t.Fatalf("inspection: %s", stdout.String())
	}
	if len(got.Rejected) != 3 || got.Rejected[0].Line != 10636 ||
		!strings.Contains(got.Rejected[1].Reason, "Tron address") ||
		got.Rejected[2].Line != 3 || got.Rejected[2].File != csv {
		t.Fatalf("rejected: %+v", got.Rejected)
	}
	// The text a user reads by default: per file, then the total.
	stdout.Reset()
	if code := run([]string{"lists", "inspect", xml, csv}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{
		xml + ": 761 entries, 759 loaded, 2 rejected\n",
		"  by chain:    arbitrum 1, bitcoin 525,",
		"  by role:     source 759\n",
		"  rejected " + xml + ":10636 (DistinctParty 29585, Feature 36454): address",
		csv + ": 2 entries, 1 loaded, 1 rejected\n",
		"  rejected " + csv + ":3: ",
		"\ntotal: 763 entries, 760 loaded, 3 rejected\n",
		"  by category: exchange 1, sanctioned 759\n",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("inspect's text lacks %q:\n%s", want, stdout.String())
		}
	}
	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"lists"}, "want a subcommand"},
		{[]string{"lists", "inspect"}, "want one or more files"},
		{[]string{"lists", "inspect", "--format", "yaml", xml}, "--format"},
		{[]string{"lists", "inspect", "x.yaml"}, "no such file"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tt.args, &stdout, &stderr); code == exitOK ||
			!strings.Contains(stderr.String(), tt.wantErr) {
			t.Errorf("%v: exit %d, %q; want an error with %q", tt.args, code, stderr.String(),
				tt.wantErr)
		}
	}
}

var csvHeaderForTest = []string{"chain", "address", "role", "category", "entity", "source",
	"valid_from", "valid_to"}

// TestListsDiff: between the SDN snapshots of 2025-03-04 and 2025-11-19 the Tornado Cash
// delisting (2025-03-21) shows: every removed address is Tornado Cash's, the 100 ETH pool
// among them.
func TestListsDiff(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "data", "sanctions")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"lists", "diff", "--format", "json",
		filepath.Join(dir, "sdn_advanced_2025-03-04_digital_currency_excerpt.xml"),
		filepath.Join(dir, "sdn_advanced_2025-11-19_digital_currency_excerpt.xml")},
		&stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var got struct {
		Added, Removed []struct{ Chain, Address, Entity string }
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	pool := false
	for _, e := range got.Removed {
		if e.Entity != "TORNADO CASH" {
			t.Errorf("removed %+v, not Tornado Cash", e)
		}
		pool = pool || e.Address == "0xa160cdab225685da1d56aa342ad8841c3b53f291"
	}
	if len(got.Removed) != 90 || !pool || len(got.Added) == 0 {
		t.Fatalf("%d added, %d removed (100 ETH pool among them: %v)", len(got.Added),
			len(got.Removed), pool)
	}
	stdout.Reset()
	if code := run([]string{"lists", "diff",
		filepath.Join(dir, "sdn_advanced_2025-03-04_digital_currency_excerpt.xml"),
		filepath.Join(dir, "sdn_advanced_2025-11-19_digital_currency_excerpt.xml")},
		&stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{
		"\n- source ethereum 0xa160cdab225685da1d56aa342ad8841c3b53f291 (ETH, TORNADO CASH)\n",
		"\n134 added, 90 removed\n",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("diff's text lacks %q", want)
		}
	}
	var stderr2 bytes.Buffer
	if code := run([]string{"lists", "diff", "only-one.xml"}, &stdout, &stderr2); code == exitOK ||
		!strings.Contains(stderr2.String(), "want two files") {
		t.Fatalf("one file: exit %d, %s", code, stderr2.String())
	}
}

// TestValidateLoadsEveryListFormat: a config's lists may be OFAC's XML and TagPacks too;
// entries on chains the config does not follow are left out, rejections are printed.
func TestValidateLoadsEveryListFormat(t *testing.T) {
	data, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte(`chains:
  - name: ethereum
    family: evm
    rpc: [http://127.0.0.1:8545]
  - name: bitcoin
    family: bitcoin
    rpc: [http://u:p@127.0.0.1:8332]
lists:
  - path: `+filepath.Join(data, "sanctions", "sdn_advanced_2025-11-19_digital_currency_excerpt.xml")+`
  - path: `+filepath.Join(data, "labels", "mixers", "graphsense-tagpacks", "tornado_cash.yaml")+`
rules:
  - name: r
    destinations: [mixer]
    sinks: [out]
sinks:
  - name: out
    type: file
    path: "-"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"validate", "--config", cfg}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	// 87 Ethereum and 525 Bitcoin SDN entries, 600 distinct addresses; 38 Tornado Cash
	// labels; the XML's 2 rejections.
	if !strings.Contains(stdout.String(), "lists: 600 sources, 38 labels, 2 rejected entries") {
		t.Fatalf("validate: %s", stdout.String())
	}
}
