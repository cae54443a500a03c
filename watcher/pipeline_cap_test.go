package watcher

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// TestPipelineTrackedCap plays, on the simulated chain through the real pipeline, a source
// that pays four fresh addresses under the three models, each rule capped at two addresses
// tracked per source (max_tracked): the first two are followed, the last two are not, and
// each of those decisions is counted (Worker.CapHits, the metric's source) and logged once
// per source and model. A capped address's payment to the exchange raises nothing; a
// followed one's does, and so does the source's own, which no cap limits.
func TestPipelineTrackedCap(t *testing.T) {
	ctx := context.Background()
	lab := newIdleLab(t)
	rs := modelRules()
	for i := range rs {
		rs[i].MaxTracked = 2
	}
	logs, seen := observer.New(zapcore.WarnLevel)
	lab.start(t, rs, func(o *WorkerOptions) {
		o.Logger = zap.New(zapcore.NewTee(zaptest.NewLogger(t).Core(), logs))
	})
	c, lazarus := lab.chain, addr(lab.chain.Addrs[0])
	names := []string{"cap-a", "cap-b", "cap-c", "cap-d"}
	keys := map[string]*ecdsaKey{}
	addrs := map[string]string{}
	for _, n := range names {
		k, a := labKey(n)
		keys[n], addrs[n] = k, addr(a)
		lab.send(t, c.Keys[0], a, eth(10))
	}
	lab.send(t, keys["cap-c"], lab.exchange, eth(5)) // not followed: nothing
	lab.send(t, keys["cap-a"], lab.exchange, eth(5))
	lab.send(t, c.Keys[0], lab.exchange, eth(1))

	// Per model: A's payment (two hops) and the source's (one); C's none.
	var want []string
	for _, r := range rs {
		want = append(want, r.Name+" 1 hops from "+lazarus, r.Name+" 2 hops from "+
			addrs["cap-a"])
	}
	sort.Strings(want)
	recv := lab.recv
	recv.waitFor(t, len(want))
	waitSettled(t, lab.src, lab.q, "dev")
	var got []string
	for _, a := range recv.alerts() {
		if a.State != alerting.StateConfirmed || len(a.Path) == 0 {
			t.Fatalf("unexpected alert %+v", a)
		}
		got = append(got, fmt.Sprintf("%s %d hops from %s", a.Rule, len(a.Path),
			strings.ToLower(a.Path[len(a.Path)-1].From)))
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// What is stored: A and B under each model, C and D under none.
	var stored []string
	for _, r := range rs {
		for _, n := range names {
			stored = append(stored, rules.ModelKey(r.Model, addrs[n]))
		}
	}
	held, err := lab.store.Taints(ctx, "dev", stored...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		for _, n := range names {
			_, ok := held[rules.ModelKey(r.Model, addrs[n])]
			if want := n == "cap-a" || n == "cap-b"; ok != want {
				t.Errorf("%s under %s: tracked %v, want %v", n, r.Model, ok, want)
			}
		}
	}

	// Two decisions capped per model, each counted; logged once per model.
	if hits := lab.worker.CapHits()["dev"]; hits != 2*uint64(len(rs)) {
		t.Errorf("cap hits %d, want %d", hits, 2*len(rs))
	}
	var models []string
	for _, e := range seen.FilterMessageSnippet("tracked-address cap reached").All() {
		f := e.ContextMap()
		if f["source"] != lazarus || f["chain"] != "dev" {
			t.Errorf("cap logged for %v on %v, want %s on dev", f["source"], f["chain"], lazarus)
		}
		models = append(models, f["model"].(string))
	}
	sort.Strings(models)
	if got, want := strings.Join(models, " "), "fifo haircut poison"; got != want {
		t.Errorf("cap logged for models %q, want %q (once each)", got, want)
	}
}

// TestWorkerCountsCapHitsOnce: a batch in which a cap kept the source's funds from a new
// address fails to write, and is judged again. The cap hit is counted once, with the write
// that goes through, not once per judging.
func TestWorkerCountsCapHitsOnce(t *testing.T) {
	const a, b = "0xa000000000000000000000000000000000000001",
		"0xb000000000000000000000000000000000000002"
	e := newWorkerEnv(t)
	e.rules[0].MaxTracked = 1
	// One entry: the source pays A (tracked, written) and B (past the cap); then A pays the
	// exchange, which alerts.
	n := appendBlock(t, e.q, "c", func(blk chains.BlockRef) [][]byte {
		var ps [][]byte
		for i, to := range []string{a, b} {
			ps = append(ps, marshal(t, transferMovement("c", blk,
				fmt.Sprintf("0x%063x%d", blk.Number, i), transfer{hopSource, to, 5})))
		}
		return ps
	})
	transferBlocks(t, e.q, "c", transfer{a, hopExchange, 5})
	store := &crashAfterApply{Redis: e.store, key: fmt.Sprintf("c/0x%063x0/tx", n),
		fail: true, kill: func() {}}
	w, err := NewWorker(e.q, e.q, e.lists, store, e.rules, e.sink, WorkerOptions{
		Name: "w", Chains: []string{"c"}, Batch: 1, Block: 5 * time.Millisecond,
		ClaimIdle: time.Minute, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	e.runUntilDone(t, w, 1)
	if !store.done {
		t.Fatal("the write never failed: the test did not test anything")
	}
	if hits := w.CapHits()["c"]; hits != 1 {
		t.Errorf("cap hits %d, want 1", hits)
	}
	held, err := e.store.Taints(context.Background(), "c", a, b)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := held[a]; !ok || len(held) != 1 {
		t.Errorf("tracked %v, want A alone", held)
	}
}
