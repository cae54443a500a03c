package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/alerting/webhook"
	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher"
)

// TestRunHeartbeat runs flowwatch run with a heartbeat to a webhook: it sends "pipeline
// alive" with the chain's published block and the alert log's head; when the chain's node
// goes away, the chain falls behind and, after max_lag, a pipeline-lag alert reaches the
// same webhook, and, down the config's routing tree (alerting.route), the sink of the first
// route that matches it, not that of a route that does not.
func TestRunHeartbeat(t *testing.T) {
	_, prefix := redistest.New(t)
	chain := devChain(t)
	hook := newPayloadHook(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "flowwatch.yaml")
	writeFile(t, cfg, `redis:
`+redistest.Config(prefix)+`chains:
  - {name: dev, family: evm, rpc: [`+chain.URL+`], start_block: 1, poll_interval: 20ms,
     traces: off}
rules:
  - {name: to-exchange, destinations: [exchange], sinks: [hook]}
sinks:
  - {name: hook, type: webhook, url: `+hook.URL+`, secret: heartbeat-secret}
  - {name: pager, type: file, path: `+filepath.Join(dir, "pager.jsonl")+`}
  - {name: ops, type: file, path: `+filepath.Join(dir, "ops.jsonl")+`}
alerting:
  group_wait: 0s
  route:
    routes:
      - {match: {severity: [critical]}, sinks: [pager]}
      - {match: {rule: [pipeline-lag], chain: [dev]}, sinks: [ops]}
  heartbeat: {sink: hook, every: 1s, max_lag: 1s}
`)
	cmd, _ := startRun(t, cfg, "running")
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	waitPayload := func(what string, ok func(webhook.Payload) bool) webhook.Payload {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			hook.mu.Lock()
			i := slices.IndexFunc(hook.got, ok)
			var p webhook.Payload
			if i >= 0 {
				p = hook.got[i]
			}
			hook.mu.Unlock()
			if i >= 0 {
				return p
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s in 30 s", what)
			}
			time.Sleep(10 * time.Millisecond) // polling a condition with a deadline
		}
	}
	beat := waitPayload("heartbeat at the head", func(p webhook.Payload) bool {
		return len(p.Alerts) == 2 && p.Alerts[0].Rule == watcher.RuleHeartbeat &&
			strings.Contains(p.Alerts[0].Note, "dev: published block") &&
			strings.Contains(p.Alerts[0].Note, "at the head")
	})
	if !strings.Contains(beat.Alerts[1].Note, "alert log: 0 entries") {
		t.Fatalf("heartbeat %+v", beat.Alerts)
	}

	if err := chain.Close(); err != nil { // the node goes away
		t.Fatal(err)
	}
	lag := waitPayload("lag alert", func(p webhook.Payload) bool {
		return len(p.Alerts) > 0 && p.Alerts[0].Rule == watcher.RuleLag
	})
	if a := lag.Alerts[0]; a.Chain != "dev" || a.State != "confirmed" {
		t.Fatalf("lag alert %+v", a)
	}
	// Routed: to ops, whose route matches it; pager's, for critical alerts, does not.
	var ops []byte
	for deadline := time.Now().Add(30 * time.Second); !bytes.Contains(ops,
		[]byte(`"rule":"pipeline-lag"`)); {
		if time.Now().After(deadline) {
			t.Fatalf("the lag alert did not reach the ops sink in 30 s: %s", ops)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition with a deadline
		ops, _ = os.ReadFile(filepath.Join(dir, "ops.jsonl"))
	}
	if pager, _ := os.ReadFile(filepath.Join(dir, "pager.jsonl")); len(pager) > 0 {
		t.Fatalf("the pager sink, for critical alerts, got %s", pager)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run after SIGTERM: %v", err)
	}
}
