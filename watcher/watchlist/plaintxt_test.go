package watchlist

import (
	"strings"
	"testing"
)

func TestReadTXT(t *testing.T) {
	const give = `# Ronin bridge exploiters (FBI, 2022-04-14)
# chain: ethereum
# role: source
# category: hack
# entity: Lazarus Group
# valid_from: 2022-04-14
0x098B716B8Aaf21512996dC57EB0615e2383E2f96
0x098b716B8Aaf21512996dC57EB0615e2383E2f96
# chain: tron
TQ5H49Wz3K57zNHmuXVp6uLzFwitxviABs
# chain: ethereum
# role: owner
`
	entries, rejected, err := ReadTXT("l.txt", strings.NewReader(give), evmOnly)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Origin.Line != 7 || entries[0].Entity != "Lazarus Group" ||
		entries[0].ValidFrom.Format("2006-01-02") != "2022-04-14" ||
		entries[0].Address != "0x098b716b8aaf21512996dc57eb0615e2383e2f96" {
		t.Fatalf("entries %+v", entries)
	}
	if len(rejected) != 2 || rejected[0].Line != 8 ||
		!strings.Contains(rejected[0].Reason, "EIP-55") || rejected[1].Line != 12 {
		t.Fatalf("rejected %+v", rejected)
	}
	if _, rj, _ := ReadTXT("m.txt", strings.NewReader("0x098b716b8aaf21512996dc57eb0615e2383e2f96\n"),
		evmOnly); len(rj) != 1 || !strings.Contains(rj[0].Reason, "# chain:") {
		t.Fatalf("an address before its chain: %+v", rj)
	}
}

func FuzzReadTXT(f *testing.F) {
	f.Add([]byte("# chain: ethereum\n# role: label\n# category: exchange\n" +
		"0x28C6c06298d514Db089934071355E5743bf21d60\nbad\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, rejected, err := ReadTXT("f.txt", strings.NewReader(string(b)), evmOnly)
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.Address == "" || e.Category == "" || e.Origin.Line < 1 {
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
