package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/chains/bitcoin/simnet"
	"github.com/flowwatch/flowwatch/chains/ethereum/anviltest"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/internal/testtool"
	"github.com/flowwatch/flowwatch/watcher/replay"
)

func TestReplayUsage(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	base := []string{"replay", "--rpc", "http://127.0.0.1:1", "--from", "1", "--address",
		"0x2222222222222222222222222222222222222222"}
	tests := []struct {
		name string
		give []string
		want string
	}{
		{"no out", base, "--out is required"},
		{"unknown format", append(base, "--out", "r.pdf"), `--out "r.pdf": the extension`},
		{"bad model", append(base, "--out", out, "--model", "lifo"), `--model "lifo"`},
		{"bad as-of", append(base, "--out", out, "--as-of", "yesterday"), `--as-of: "yesterday"`},
		{"no address", []string{"replay", "--rpc", "x", "--from", "1", "--out", out},
			"--address is required"},
		{"no from", []string{"replay", "--rpc", "x", "--address", "0x1", "--out", out},
			"--from is required"},
		{"no node", []string{"replay", "--from", "1", "--address", "0x1", "--out", out},
			"--rpc (or a --config"},
		{"to before from", append(base, "--out", out, "--to", "0", "--from", "5"),
			"--to 0 is before --from 5"},
		{"hops", append(base, "--out", out, "--hops", "0"), "--hops 0"},
		{"bad method", append(base, "--out", out, "--method", "guess"), `--method "guess"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.give, &stdout, &stderr); code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("stderr %q lacks %q", stderr.String(), tt.want)
			}
		})
	}
}

// TestReplayBadAddress: an address that does not validate is a usage error naming it.
func TestReplayBadAddress(t *testing.T) {
	c, err := devnet.Start(devnet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	var stdout, stderr bytes.Buffer
	code := run([]string{"replay", "--rpc", c.URL, "--from", "0", "--address", "0x12zz",
		"--out", filepath.Join(t.TempDir(), "r.json")}, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "--address 0x12zz") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}

// readReport reads a JSON report.
func readReport(t *testing.T, path string) *replay.Report {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep replay.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	return &rep
}

// demoTotals are the totals the demo's scenario reaches: the 100 ETH deposit into the
// Tornado Cash pool, and 105 ETH at the inferred Binance deposit address, 3 hops out.
func checkDemoReport(t *testing.T, rep *replay.Report) {
	t.Helper()
	var got []string
	for _, tt := range rep.Totals {
		got = append(got, tt.Category+" "+tt.Entity+" "+tt.Tainted)
	}
	want := []string{"exchange_deposit Binance 14 105000000000000000000",
		"mixer Tornado Cash 100 ETH pool 100000000000000000000"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("totals:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The path to the exchange: source -> fresh wallet 2 -> fresh wallet 5 -> deposit.
	var dep string
	for _, tt := range rep.Totals {
		if tt.Category == "exchange_deposit" {
			dep = tt.Destination
		}
	}
	hops := 0
	for at := dep; at != rep.Sources[0]; hops++ {
		found := false
		for _, e := range rep.Edges {
			if e.To == at {
				at, found = e.From, true
				break
			}
		}
		if !found || hops > 5 {
			t.Fatalf("no path from the source to the deposit address %s", dep)
		}
	}
	if hops != 3 {
		t.Errorf("the deposit address is %d hops out, want 3", hops)
	}
}

// TestReplayDemo: `flowwatch replay --demo` writes reports that show the path from the
// source to the exchange with amounts, and the HTML draws the graph in a browser.
func TestReplayDemo(t *testing.T) {
	dir := t.TempDir()
	page, data := filepath.Join(dir, "report.html"), filepath.Join(dir, "report.json")
	var stdout, stderr bytes.Buffer
	code := run([]string{"replay", "--demo", "--out", page, "--out", data}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"reached Tornado Cash 100 ETH pool (mixer)",
		"reached Binance 14 (exchange_deposit)", ": 105 ETH", "wrote " + page} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	rep := readReport(t, data)
	checkDemoReport(t, rep)
	checkInBrowser(t, page, rep)
}

// checkInBrowser opens page in headless Chromium and checks, by the DOM the browser built,
// that it drew every node of rep's graph (each laid out with a size) and the totals; and
// that a screenshot of it can be taken. Without Chromium the test skips, or fails in CI
// (testtool.Missing).
func checkInBrowser(t *testing.T, page string, rep *replay.Report) {
	t.Helper()
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		testtool.Missing(t, "no Chromium on PATH (apt install chromium)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--window-size=1400,1000"}
	dom, err := exec.CommandContext(ctx, browser,
		append(flags, "--dump-dom", "file://"+page)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	m := regexp.MustCompile(`data-drawn-nodes="(\d+)"`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("the page's script did not run: no data-drawn-nodes in the DOM")
	}
	if n, _ := strconv.Atoi(string(m[1])); n != len(rep.Nodes) || n == 0 {
		t.Errorf("the browser drew %d nodes, the report has %d", n, len(rep.Nodes))
	}
	for _, n := range rep.Nodes {
		if !bytes.Contains(dom, []byte(`data-address="`+n.Address+`"`)) {
			t.Errorf("node %s not in the DOM", n.Address)
		}
	}
	for _, tt := range rep.Totals {
		if !bytes.Contains(dom, []byte(`class="total" data-destination="`+tt.Destination)) {
			t.Errorf("total row of %s not in the DOM", tt.Destination)
		}
	}
	if got := bytes.Count(dom, []byte(`<tr class="hop"`)); got != len(rep.Edges) {
		t.Errorf("%d hop rows, want %d", got, len(rep.Edges))
	}
	shot := filepath.Join(t.TempDir(), "report.png")
	if err := exec.CommandContext(ctx, browser, append(flags, "--screenshot="+shot,
		"file://"+page)...).Run(); err != nil {
		t.Fatalf("chromium --screenshot: %v", err)
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10_000 {
		t.Fatalf("screenshot: %v (%v)", fi, err)
	}
}

// playedDemoChain starts a dev chain with debug traces and plays the demo's scenario on it.
func playedDemoChain(t *testing.T) *devnet.Chain {
	t.Helper()
	c, err := devnet.Start(devnet.Options{Accounts: demoAccounts, Seed: "flowwatch-demo",
		Alloc: demoAlloc(), Tracers: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := newScenario(c).play(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestReplayNode replays the demo's scenario played on a dev node, over JSON-RPC, twice:
// the second run reads every block from the on-disk cache, and both write byte-identical
// JSON, CSV and DOT.
func TestReplayNode(t *testing.T) {
	c := playedDemoChain(t)
	lazarus := c.Addrs[roleLazarus].Hex()
	cacheDir := t.TempDir()
	replayOnce := func(name string) (string, map[string][]byte) {
		dir := filepath.Join(t.TempDir(), name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		args := []string{"replay", "--rpc", c.URL, "--chain", "ethereum", "--address", lazarus,
			"--from", "1", "--cache-dir", cacheDir, "--cache-depth", "0"}
		outs := map[string][]byte{}
		for _, f := range []string{"json", "csv", "dot", "html"} {
			args = append(args, "--out", filepath.Join(dir, "r."+f))
		}
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		for _, f := range []string{"json", "csv", "dot"} {
			b, err := os.ReadFile(filepath.Join(dir, "r."+f))
			if err != nil {
				t.Fatal(err)
			}
			outs[f] = b
		}
		checkDemoReport(t, readReport(t, filepath.Join(dir, "r.json")))
		return stdout.String(), outs
	}
	first, a := replayOnce("first")
	if !strings.Contains(first, "block cache: 0 hits, 8 fetched") {
		t.Errorf("first run:\n%s", first)
	}
	second, b := replayOnce("second")
	if !strings.Contains(second, "block cache: 8 hits, 0 fetched") {
		t.Errorf("second run:\n%s", second)
	}
	for f := range a {
		if !bytes.Equal(a[f], b[f]) {
			t.Errorf("%s differs between two replays of the same range", f)
		}
	}
}

// TestReplayBitcoin replays the demo's Bitcoin leg on btcd in simnet (with its address
// index): a ransom paid to the watched address, peeled through fresh addresses, deposited
// at an exchange that a --list file labels. The path reaches the exchange with the
// deposit's amount, and the address index finds what the scan of every block finds.
func TestReplayBitcoin(t *testing.T) {
	simnet.Btcd(t) // builds btcd once, where startBitcoinLeg finds it
	btc, why, err := startBitcoinLeg("--txindex", "--addrindex")
	if err != nil || btc == nil {
		t.Fatalf("start btcd: %v %s", err, why)
	}
	t.Cleanup(btc.close)
	_, height, err := btc.node.Client.GetBestBlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := btc.play(context.Background()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	list := filepath.Join(dir, "case.csv")
	csv := "chain,address,role,category,entity,source,valid_from,valid_to\n" +
		"bitcoin," + btc.exch.Addr.EncodeAddress() + ",label,exchange,Exchange X,case,,\n" +
		"bitcoin,not-an-address,label,exchange,Broken,case,,\n"
	if err := os.WriteFile(list, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	replayBy := func(method string) *replay.Report {
		out := filepath.Join(dir, method+".json")
		var stdout, stderr bytes.Buffer
		code := run([]string{"replay", "--chain", "bitcoin", "--network", "simnet", "--rpc",
			btc.node.URL(), "--ca-cert", filepath.Join(btc.dir, "rpc.cert"), "--list", list,
			"--address", btc.watched.Addr.EncodeAddress(), "--from",
			strconv.Itoa(int(height) + 1), "--no-cache", "--method", method, "--out", out},
			&stdout, &stderr)
		if code != exitOK {
			t.Fatalf("--method %s: exit %d: %s", method, code, stderr.String())
		}
		if !strings.Contains(stderr.String(), "case.csv:3") {
			t.Errorf("the malformed line was not reported by file and line: %s",
				stderr.String())
		}
		return readReport(t, out)
	}
	rep := replayBy(methodScan)
	if len(rep.Totals) != 1 || rep.Totals[0].Entity != "Exchange X" ||
		rep.Totals[0].Tainted != "299900000" {
		t.Fatalf("totals %+v, want Exchange X 299900000", rep.Totals)
	}
	var path []string
	for at := btc.exch.Addr.EncodeAddress(); at != rep.Sources[0]; {
		found := false
		for _, e := range rep.Edges {
			if e.To == at {
				path, at, found = append(path, e.Position), e.From, true
				break
			}
		}
		if !found || len(path) > 5 {
			t.Fatalf("no path from the watched address to the exchange: %+v", rep.Edges)
		}
	}
	if len(path) != 3 || len(rep.Edges) != 5 {
		t.Fatalf("path %v (want 3 hops), %d edges (want 5)", path, len(rep.Edges))
	}
	want, _ := json.Marshal(rep)
	if got, _ := json.Marshal(replayBy(methodIndex)); string(got) != string(want) {
		t.Fatalf("by the address index:\n%s\nby the scan:\n%s", got, want)
	}
}

// TestReplayBitcoinWithoutIndex: on btcd without an address index, --method auto says so
// and scans every block, finding the exchange all the same.
func TestReplayBitcoinWithoutIndex(t *testing.T) {
	simnet.Btcd(t)
	btc, why, err := startBitcoinLeg()
	if err != nil || btc == nil {
		t.Fatalf("start btcd: %v %s", err, why)
	}
	t.Cleanup(btc.close)
	if err := btc.play(context.Background()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	list := filepath.Join(dir, "case.csv")
	if err := os.WriteFile(list, []byte("chain,address,role,category,entity,source,"+
		"valid_from,valid_to\nbitcoin,"+btc.exch.Addr.EncodeAddress()+
		",label,exchange,Exchange X,case,,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "r.json")
	var stdout, stderr bytes.Buffer
	code := run([]string{"replay", "--chain", "bitcoin", "--network", "simnet", "--rpc",
		btc.node.URL(), "--ca-cert", filepath.Join(btc.dir, "rpc.cert"), "--list", list,
		"--address", btc.watched.Addr.EncodeAddress(), "--from", "1", "--no-cache",
		"--out", out}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "no address index (btcd --addrindex): scanning") {
		t.Errorf("stderr does not say it scans: %s", stderr.String())
	}
	if rep := readReport(t, out); len(rep.Totals) != 1 || rep.Totals[0].Tainted != "299900000" {
		t.Fatalf("totals %+v", rep.Totals)
	}
}

// TestReplayTraces: on a node with trace_filter (Anvil), the default method follows the
// funds by traces and logs rather than block by block, and reaches the exchange.
func TestReplayTraces(t *testing.T) {
	node := anviltest.Start(t)
	a, b, x := anviltest.Addr(1), anviltest.Addr(2), binance14
	node.Fund(t, a)
	fwd := node.Deploy(t, node.Funder, devnet.Forwarder)
	node.Send(t, a, &b, eth(10), nil)
	node.Send(t, b, &fwd, eth(4), devnet.Forwarder.Pack("forward", x)) // internal, to Binance
	out := filepath.Join(t.TempDir(), "r.json")
	var stdout, stderr bytes.Buffer
	code := run([]string{"replay", "--rpc", node.URL, "--address", a.Hex(), "--from", "1",
		"--cache-dir", t.TempDir(), "--out", out}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if strings.Contains(stdout.String(), "block cache") ||
		strings.Contains(stderr.String(), "scanning") {
		t.Fatalf("scanned block by block:\n%s%s", stdout.String(), stderr.String())
	}
	rep := readReport(t, out)
	if len(rep.Totals) != 1 || rep.Totals[0].Entity != "Binance 14" ||
		rep.Totals[0].Tainted != eth(4).String() {
		t.Fatalf("totals %+v", rep.Totals)
	}
}

// TestReplayMovementsFile: a replay of what `flowwatch extract` wrote (no node) gives the
// report a replay of the node gives, byte for byte; a file of another chain, or out of
// order, is an error naming its line.
func TestReplayMovementsFile(t *testing.T) {
	c := playedDemoChain(t)
	dir := t.TempDir()
	var extracted, stderr bytes.Buffer
	if code := run([]string{"extract", "--chain", "ethereum", "--rpc", c.URL, "--from", "1",
		"--traces", "on"}, &extracted, &stderr); code != exitOK {
		t.Fatalf("extract: exit %d: %s", code, stderr.String())
	}
	file := filepath.Join(dir, "movements.jsonl")
	if err := os.WriteFile(file, extracted.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	lazarus := c.Addrs[roleLazarus].Hex()
	replayTo := func(out string, from ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		args := append([]string{"replay", "--chain", "ethereum", "--address", lazarus,
			"--from", "1", "--no-cache", "--out", out}, from...)
		code := run(args, &stdout, &stderr)
		return code, stderr.String()
	}
	byNode, byFile := filepath.Join(dir, "node.json"), filepath.Join(dir, "file.json")
	if code, errs := replayTo(byNode, "--rpc", c.URL, "--method", "scan"); code != exitOK {
		t.Fatalf("replay of the node: exit %d: %s", code, errs)
	}
	if code, errs := replayTo(byFile, "--movements", file); code != exitOK {
		t.Fatalf("replay of the file: exit %d: %s", code, errs)
	}
	a, _ := os.ReadFile(byNode)
	b, _ := os.ReadFile(byFile)
	if !bytes.Equal(a, b) {
		t.Fatalf("the file's report:\n%s\nthe node's:\n%s", b, a)
	}
	checkDemoReport(t, readReport(t, byFile))

	lines := strings.SplitAfter(extracted.String(), "\n")
	for _, tt := range []struct{ name, give, want string }{
		{"another chain", strings.Replace(extracted.String(), `"chain":"ethereum"`,
			`"chain":"base"`, 1), `line 1: chain "base"`},
		{"out of order", lines[len(lines)-2] + lines[0], "line 2: block"},
	} {
		bad := filepath.Join(dir, tt.name+".jsonl")
		if err := os.WriteFile(bad, []byte(tt.give), 0o644); err != nil {
			t.Fatal(err)
		}
		code, errs := replayTo(filepath.Join(dir, "x.json"), "--movements", bad)
		if code != exitError || !strings.Contains(errs, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want %q", tt.name, code, errs, tt.want)
		}
	}
}
