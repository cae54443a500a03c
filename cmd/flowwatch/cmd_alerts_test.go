package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/sinktest"
	"github.com/flowwatch/flowwatch/internal/redistest"
)

// TestAlertsCommand: list, show, export and verify the alert log in Redis as an auditor
// would; verify fails, naming the entry, once an entry is edited.
func TestAlertsCommand(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	j := alerting.NewRedisJournal(rdb, prefix, nil)
	as := sinktest.Alerts(3)
	for i := range as {
		as[i].Incident = nil
	}
	if _, err := j.Append(ctx, as...); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	writeFile(t, cfg, fmt.Sprintf(`redis:
%schains:
  - name: ethereum
    family: evm
    rpc: [http://127.0.0.1:8545]
rules:
  - name: r
    destinations: [exchange]
    sinks: [out]
sinks:
  - name: out
    type: file
    path: "-"
`, redistest.Config(prefix)))
	cli := func(args ...string) (string, int) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(append(args, "--config", cfg), &stdout, &stderr)
		return stdout.String() + stderr.String(), code
	}
	if out, code := cli("alerts", "list", "--limit", "2"); code != exitOK ||
		strings.Count(out, "\n") != 2 || !strings.Contains(out, "Lazarus Group") ||
		!strings.Contains(out, as[1].Tx) {
		t.Fatalf("list (exit %d):\n%s", code, out)
	}
	out, code := cli("alerts", "show", as[2].ID)
	var e alerting.Entry
	if err := json.Unmarshal([]byte(out), &e); code != exitOK || err != nil || e.Seq != 3 ||
		e.Alert.Tx != as[2].Tx {
		t.Fatalf("show (exit %d, %v):\n%s", code, err, out)
	}
	out, code = cli("alerts", "export", "--format", "csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != exitOK || err != nil || len(rows) != 4 || rows[0][0] != "seq" ||
		rows[3][3] != as[2].ID {
		t.Fatalf("export csv (exit %d, %v):\n%s", code, err, out)
	}
	// JSON lines (the default) after entry 1, to a file: entries 2 and 3, hash-chained.
	export := filepath.Join(dir, "export.jsonl")
	if out, code = cli("alerts", "export", "--after", "1", "--out", export); code != exitOK ||
		out != "" {
		t.Fatalf("export to a file (exit %d):\n%s", code, out)
	}
	raw, err := os.ReadFile(export)
	if err != nil {
		t.Fatal(err)
	}
	var exported []alerting.Entry
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var e alerting.Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		exported = append(exported, e)
	}
	if len(exported) != 2 || exported[0].Seq != 2 || exported[1].Seq != 3 ||
		exported[1].Prev != exported[0].Hash || exported[1].Alert.ID != as[2].ID {
		t.Fatalf("exported after entry 1: %+v", exported)
	}
	if out, code = cli("alerts", "verify"); code != exitOK ||
		!strings.Contains(out, "alert log: ok: 3 entries (1 to 3), head hash") {
		t.Fatalf("verify (exit %d):\n%s", code, out)
	}
	// Edit the second entry's amount in place, keeping its hash.
	es, _ := j.Entries(ctx, 0, 10)
	body := strings.Replace(string(es[1].Body), `"amount":"1000000000000000000"`,
		`"amount":"1"`, 1)
	stream := j.StreamKey()
	rdb.Del(ctx, stream)
	for i, en := range es {
		b := string(en.Body)
		if i == 1 {
			b = body
		}
		rdb.XAdd(ctx, xadd(stream, en, b))
	}
	if out, code = cli("alerts", "verify"); code != exitError ||
		!strings.Contains(out, "PROBLEM: entry 2: content hashes to") {
		t.Fatalf("verify after an edit (exit %d):\n%s", code, out)
	}
	if out, code = cli("alerts", "export", "--format", "xml"); code != exitUsage ||
		!strings.Contains(out, `--format "xml"`) {
		t.Fatalf("bad format (exit %d):\n%s", code, out)
	}
	if out, code = cli("alerts", "show", "nope"); code != exitError ||
		!strings.Contains(out, `no entry "nope"`) {
		t.Fatalf("show unknown (exit %d):\n%s", code, out)
	}
	// A reorg moved an alert's transaction to another block, where it was confirmed,
	// before the retraction from its first block came: show gives the confirmation.
	moved := func(block string, state alerting.State) alerting.Alert {
		a := as[0]
		a.ID, a.BlockHash, a.State = "moved", block, state
		return a
	}
	show := func(wantState alerting.State, wantBlock string) {
		t.Helper()
		out, code := cli("alerts", "show", "moved")
		var e alerting.Entry
		if err := json.Unmarshal([]byte(out), &e); code != exitOK || err != nil ||
			e.Alert.State != wantState || e.Alert.BlockHash != wantBlock {
			t.Fatalf("show moved (exit %d, %v), want %s in %s:\n%s", code, err, wantState,
				wantBlock, out)
		}
	}
	if _, err := j.Append(ctx, moved("0xold", alerting.StateProvisional),
		moved("0xnew", alerting.StateConfirmed),
		moved("0xold", alerting.StateRetracted)); err != nil {
		t.Fatal(err)
	}
	show(alerting.StateConfirmed, "0xnew")
	if _, err := j.Append(ctx, moved("0xfork", alerting.StateProvisional),
		moved("0xfork", alerting.StateRetracted)); err != nil {
		t.Fatal(err)
	}
	show(alerting.StateConfirmed, "0xnew") // an early warning on a fork, retracted
	if _, err := j.Append(ctx, moved("0xnew", alerting.StateRetracted)); err != nil {
		t.Fatal(err)
	}
	show(alerting.StateRetracted, "0xnew")
}

func xadd(stream string, e alerting.Entry, body string) *redis.XAddArgs {
	return &redis.XAddArgs{Stream: stream, ID: fmt.Sprintf("%d-0", e.Seq),
		Values: []any{"seq", e.Seq, "time", e.Time.UnixNano(), "prev", e.Prev,
			"hash", e.Hash, "alert", body}}
}
