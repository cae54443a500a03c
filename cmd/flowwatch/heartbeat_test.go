package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

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

	beat := hook.waitFor(t, "heartbeat at the head", func(p webhook.Payload) bool {
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
	lag := hook.waitFor(t, "lag alert", func(p webhook.Payload) bool {
		return len(p.Alerts) > 0 && p.Alerts[0].Rule == watcher.RuleLag
	})
	if a := lag.Alerts[0]; a.Chain != "dev" || a.State != "confirmed" {
		t.Fatalf("lag alert %+v", a)
	}
	// Routed: to ops, whose route matches it; pager's, for critical alerts, does not.
	waitUntil(t, "lag alert in the ops sink", func() bool {
		ops, _ := os.ReadFile(filepath.Join(dir, "ops.jsonl"))
		return bytes.Contains(ops, []byte(`"rule":"pipeline-lag"`))
	})
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
