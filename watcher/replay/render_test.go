package replay

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/internal/testtool"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// TestSVG: with Graphviz installed, the SVG is dot's drawing of the DOT: every node and
// label is in it. (Without dot it skips, or fails in CI: testtool.Missing.)
func TestSVG(t *testing.T) {
	if _, err := exec.LookPath("dot"); err != nil {
		testtool.Missing(t, "Graphviz's dot is not installed (apt install graphviz)")
	}
	rep := replayScenario(t, rules.ModelPoison, time.Time{})
	var b bytes.Buffer
	if err := Render(context.Background(), &b, rep, FormatSVG); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	if !strings.Contains(svg, "<svg") || strings.Count(svg, `class="node"`) != len(rep.Nodes) ||
		strings.Count(svg, `class="edge"`) != len(rep.Edges) {
		t.Fatalf("%d nodes, %d edges drawn; want %d and %d", strings.Count(svg,
			`class="node"`), strings.Count(svg, `class="edge"`), len(rep.Nodes), len(rep.Edges))
	}
	for _, want := range []string{"Tornado Cash 100 ETH", "Binance 14", "105 ETH"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
}

// TestSVGWithoutGraphviz: without dot, SVG is a clear error, not an empty file.
func TestSVGWithoutGraphviz(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	rep := replayScenario(t, rules.ModelPoison, time.Time{})
	err := Render(context.Background(), &bytes.Buffer{}, rep, FormatSVG)
	if !errors.Is(err, ErrNoGraphviz) {
		t.Fatalf("err %v, want ErrNoGraphviz", err)
	}
}

// TestHTMLSelfContained: the page loads nothing from the network: no external script,
// style, image or font; the only addresses in it are the explorer links and the SVG
// namespace. Its hops table has a row per edge and its totals a row per total.
func TestHTMLSelfContained(t *testing.T) {
	rep := replayScenario(t, rules.ModelPoison, time.Time{})
	var b bytes.Buffer
	if err := Render(context.Background(), &b, rep, FormatHTML); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{"<link", "@import", " src=", "url(http"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page references %q", bad)
		}
	}
	for _, u := range regexp.MustCompile(`https?://[^"'\s<>]+`).FindAllString(page, -1) {
		if !strings.HasPrefix(u, "https://etherscan.io/") && u != "http://www.w3.org/2000/svg" {
			t.Errorf("unexpected address %s", u)
		}
	}
	if got := strings.Count(page, `<tr class="hop"`); got != len(rep.Edges) {
		t.Errorf("%d hop rows, want %d", got, len(rep.Edges))
	}
	if got := strings.Count(page, `<tr class="total"`); got != len(rep.Totals) {
		t.Errorf("%d total rows, want %d", got, len(rep.Totals))
	}
	if !strings.Contains(page, `href="https://etherscan.io/tx/`+rep.Edges[0].Tx+`"`) {
		t.Errorf("no explorer link for the first hop's transaction")
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	err := Render(context.Background(), &bytes.Buffer{}, &Report{}, "pdf")
	if err == nil || !strings.Contains(err.Error(), `format "pdf"`) {
		t.Fatalf("err %v", err)
	}
}

// TestOptionsValidate names the option at fault.
func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		give    Options
		wantErr string
	}{
		{"no chain", Options{Sources: []string{"a"}}, "chain: empty"},
		{"no sources", Options{Chain: "ethereum"}, "sources"},
		{"range", Options{Chain: "ethereum", Sources: []string{"a"}, From: 5, To: 4},
			"to 4: before from 5"},
		{"model", Options{Chain: "ethereum", Sources: []string{"a"}, Model: "lifo"},
			`model "lifo"`},
		{"hops", Options{Chain: "ethereum", Sources: []string{"a"}, Hops: -1}, "max_hops -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(scLists(), tt.give)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
}
