package watchlist

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func dataDir(t *testing.T) string {
	t.Helper()
	return filepath.Dir(sanctionsDir(t))
}

// TestReadTagPack reads real TagPacks: pack-level fields are inherited (Lazarus: a sanction
// source with the pack's label), a tag's own fields win (Bybit: per-tag source), a mixer's
// category becomes flowwatch's "mixer" label, and the Tornado Cash address with a trailing
// space in the upstream file loads.
func TestReadTagPack(t *testing.T) {
	tests := []struct {
		file                               string
		wantRole, wantCategory, wantEntity string
		wantChain                          string
		minEntries                         int
		wantAddress                        string
	}{
		{"attribution/graphsense-tagpacks/lazarus.yaml", RoleSource, "sanctioned",
			"Lazarus group", "bitcoin", 10, "134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak"},
		{"attribution/graphsense-tagpacks/ransomware.yaml", RoleSource, "ransomware", "",
			"bitcoin", 1000, "1Lud76Q98VRHCUiyK7XUs7AgFofrqXeP78"},
		// Line 51 upstream is '0x4736dCf1b7A3d580672CcE6E7c65cd5cc9cFBa9D ' (a space).
		{"labels/mixers/graphsense-tagpacks/tornado_cash.yaml", RoleLabel, "mixer",
			"tornado.cash", "ethereum", 10, "0x4736dcf1b7a3d580672cce6e7c65cd5cc9cfba9d"},
		{"labels/exchanges/graphsense-tagpacks/exchange-wallets-bybit.yaml", RoleLabel,
			"exchange", "Bybit reserve wallets", "bitcoin", 4,
			"bc1q2qqqt87kh33s0er58akh7v9cwjgd83z5smh9rp"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			name := filepath.Join(dataDir(t), tt.file)
			f, err := os.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			entries, rejected, err := ReadTagPack(name, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rejected {
				t.Logf("rejected %s:%d: %s", filepath.Base(r.File), r.Line, r.Reason)
			}
			if len(entries) < tt.minEntries || len(rejected) > 0 {
				t.Fatalf("%d entries, %d rejected", len(entries), len(rejected))
			}
			var found *Entry
			for i := range entries {
				e := &entries[i]
				if e.Role != tt.wantRole || e.Category != tt.wantCategory || e.Origin.Line < 1 {
					t.Fatalf("entry %+v", e)
				}
				if e.Address == tt.wantAddress {
					found = e
				}
			}
			if found == nil || found.Chain != tt.wantChain ||
				(tt.wantEntity != "" && found.Entity != tt.wantEntity) {
				t.Fatalf("%s: %+v", tt.wantAddress, found)
			}
		})
	}
}

func TestReadTagPackErrors(t *testing.T) {
	tests := []struct {
		name, give, wantErr, wantRejected string
	}{
		{"not yaml", "tags: [", "did not find", ""},
		{"no tags", "title: x\n", "no tags list", ""},
		{"bad address", "title: t\nabuse: sanction\ncurrency: ETH\ntags:\n- address: '0x12'\n",
			"", "t.yaml:5: address \"0x12\""},
		{"unknown currency", "title: t\ncategory: exchange\ntags:\n- address: x\n  currency: DOGE\n",
			"", "t.yaml:4: currency \"DOGE\""},
		{"neither", "title: t\ncurrency: BTC\ntags:\n- address: 1Lud76Q98VRHCUiyK7XUs7AgFofrqXeP78\n",
			"", "neither abuse nor category"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, rejected, err := ReadTagPack("t.yaml", strings.NewReader(tt.give))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(rejected) != 1 ||
				!strings.Contains(rejected[0].Error(), tt.wantRejected) {
				t.Fatalf("got %+v, %v; want one rejection with %q", rejected, err,
					tt.wantRejected)
			}
		})
	}
}

func FuzzReadTagPack(f *testing.F) {
	f.Add([]byte("title: t\nabuse: sanction\ncurrency: BTC\ntags:\n" +
		"- address: 134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak\n- address: x\n  currency: TRX\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, rejected, err := ReadTagPack("f.yaml", strings.NewReader(string(b)))
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.Chain == "" || e.Address == "" || e.Category == "" {
				t.Fatalf("entry %+v", e)
			}
		}
		for _, r := range rejected {
			if r.Reason == "" {
				t.Fatalf("rejection %+v", r)
			}
		}
	})
}
