package watcher

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
)

// lostReply is a taint store whose write of one movement goes through but whose reply is
// lost (a dropped connection): the worker sees an error for a write the store made.
type lostReply struct {
	*taint.Redis
	key  string // the movement whose reply is lost, once
	lost atomic.Bool
}

func (s *lostReply) ApplyAll(ctx context.Context, chain string, fence taint.Fence,
	effects []taint.Effect) error {
	if err := s.Redis.ApplyAll(ctx, chain, fence, effects); err != nil {
		return err
	}
	for _, e := range effects {
		if e.Key == s.key && s.lost.CompareAndSwap(false, true) {
			return errors.New("read tcp: connection reset by peer")
		}
	}
	return nil
}

// TestWorkerRedeliveryCountsOnce: the write of a spend goes through but the worker does not
// hear so; it retries the entry. The retry must not judge the spend again: under FIFO that
// would take value out of the sender twice, alert on the wrong amount and leave nothing
// for the next spend. S pays A 40; A pays the exchange 30 (the lost reply) then 10: under
// FIFO (and haircut: 40 of 40 tainted) both spends are tainted in full, and each alerts
// once.
func TestWorkerRedeliveryCountsOnce(t *testing.T) {
	e := newWorkerEnv(t)
	const a = "0xa000000000000000000000000000000000000001"
	e.rules = []rules.Rule{
		{Name: "fifo", Destinations: []string{"exchange"}, MaxHops: 3, Model: rules.ModelFIFO},
		{Name: "haircut", Destinations: []string{"exchange"}, MaxHops: 3,
			Model: rules.ModelHaircut}}
	transferBlocks(t, e.q, "c", transfer{hopSource, a, 40}, transfer{a, hopExchange, 30},
		transfer{a, hopExchange, 10})
	store := &lostReply{Redis: e.store, key: "c/0x" + strings.Repeat("0", 63) + "2/tx"}
	w, err := NewWorker(e.q, e.q, e.lists, store, e.rules, e.sink, WorkerOptions{
		Name: "w", Chains: []string{"c"}, Batch: 1, Block: 1, ClaimIdle: 60e9})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	e.waitDone(t, 4)
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("run: %v", err)
	}
	if !store.lost.Load() {
		t.Fatal("the reply was never lost: the test did not test anything")
	}
	got := map[string]int{}
	for _, al := range e.sink.alerts {
		if al.TaintedAmount != "" {
			t.Errorf("%s on %s: %s of %s tainted; want all", al.Rule, al.Tx, al.TaintedAmount,
				al.Amount)
		}
		got[al.Rule+" "+al.Amount]++
	}
	for _, want := range []string{"fifo 30", "fifo 10", "haircut 30", "haircut 10"} {
		if got[want] != 1 {
			t.Errorf("alert %q delivered %d times; want once (all: %v)", want, got[want], got)
		}
	}
}

// crashAfterApply is a taint store whose worker dies once at its write of one movement:
// right after the write went through (before the worker acknowledges the entry, as a
// process killed), or, with fail, instead of it (the write failed, and the worker is
// stopped as it retries).
type crashAfterApply struct {
	*taint.Redis
	key  string // the movement whose write kills the worker, once
	fail bool
	kill context.CancelFunc
	done bool
}

func (s *crashAfterApply) ApplyAll(ctx context.Context, chain string, fence taint.Fence,
	effects []taint.Effect) error {
	if !s.fail || s.done {
		if err := s.Redis.ApplyAll(ctx, chain, fence, effects); err != nil {
			return err
		}
	}
	for _, e := range effects {
		if e.Key == s.key && !s.done {
			s.done = true
			s.kill()
			return errors.New("killed")
		}
	}
	return nil
}

// TestWorkerStopsAtAFailedBatch: the write of a batch fails as the worker is being
// stopped. What it read ahead, past the batch, must stay pending with it, for the next
// owner to judge in order: finished at the stop, the fresh wallet's payment to the exchange
// would be judged before the source's payment to the wallet, which the next owner judges
// later, and raise no alert (it did so: the failure skipped the worker's mark that the
// chain has pending entries to judge first).
func TestWorkerStopsAtAFailedBatch(t *testing.T) {
	const fresh = "0xf000000000000000000000000000000000000001"
	e := newWorkerEnv(t)
	transferBlocks(t, e.q, "c", transfer{hopSource, fresh, 40}, transfer{fresh, hopExchange, 30})
	run, stop := context.WithCancel(context.Background())
	store := &crashAfterApply{Redis: e.store, key: "c/0x" + strings.Repeat("0", 63) + "1/tx",
		fail: true, kill: stop}
	before, err := NewWorker(e.q, e.q, e.lists, store, e.rules, e.sink, WorkerOptions{
		Name: "before", Chains: []string{"c"}, Batch: 1, Block: 5 * time.Millisecond,
		ClaimIdle: time.Minute, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := before.Run(run); !errors.Is(err, context.Canceled) {
		t.Fatalf("run before: %v", err)
	}
	if !store.done {
		t.Fatal("the write never failed: the test did not test anything")
	}
	e.runUntilDone(t, e.worker(t, "after", time.Minute), 1)
	if distinct, total := e.sink.count(); distinct != 1 || total != 1 {
		t.Fatalf("%d alerts, %d distinct; want one: %+v", total, distinct, e.sink.alerts)
	}
}

// TestWorkerCleanTraffic: thousands of transfers among unlabelled addresses and into an
// exchange, none from watched funds, judged under the three models, a direct-exposure rule
// and every pattern rule by the real worker on Redis (the 200 wallets pay and pool among
// themselves, the shapes the patterns look for): no alert, and nothing tracked.
func TestWorkerCleanTraffic(t *testing.T) {
	const movements = 2000
	e := newWorkerEnv(t)
	e.rules = []rules.Rule{
		{Name: "poison", Destinations: []string{"exchange"}, MaxHops: 4},
		{Name: "haircut", Destinations: []string{"exchange"}, MaxHops: 4,
			Model: rules.ModelHaircut},
		{Name: "fifo", Destinations: []string{"exchange"}, MaxHops: 4, Model: rules.ModelFIFO},
		{Name: "direct", Direct: true},
		{Name: "fan-out", Pattern: rules.PatternFanOut, Count: 3, Window: time.Hour},
		{Name: "fan-in", Pattern: rules.PatternFanIn, Count: 3, Window: 720 * time.Hour},
		{Name: "dormant", Pattern: rules.PatternDormant, Idle: time.Minute},
		{Name: "swap", Pattern: rules.PatternSwap}}
	rng := mrand.New(mrand.NewPCG(7, 8))
	wallet := func() string { return fmt.Sprintf("0xc%039x", rng.IntN(200)) }
	var ts []transfer
	for range movements {
		to := wallet()
		if rng.IntN(10) == 0 {
			to = hopExchange
		}
		ts = append(ts, transfer{wallet(), to, rng.Int64N(1e18) + 1})
	}
	transferBlocks(t, e.q, "c", ts...)
	w := e.worker(t, "w", time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	e.waitDone(t, 0)
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("run: %v", err)
	}
	if distinct, _ := e.sink.count(); distinct != 0 {
		t.Fatalf("%d alerts on clean traffic: %+v", distinct, e.sink.alerts[0])
	}
	if n, _ := e.q.Backlog(ctx, "c"); n != 0 {
		t.Fatalf("backlog %d", n)
	}
	tracked, err := e.store.Tracked(context.Background(), "c")
	if err != nil || len(tracked) != 0 {
		t.Fatalf("clean traffic tracked addresses: %v, %v", tracked, err)
	}
}

// failRetraction fails the first delivery that retracts an alert, as a sink down just then.
type failRetraction struct {
	next   alerting.Stage
	failed atomic.Bool
}

func (f *failRetraction) Exec(ctx context.Context, alerts ...alerting.Alert) (
	[]alerting.Alert, error) {
	for _, a := range alerts {
		if a.State == alerting.StateRetracted && f.failed.CompareAndSwap(false, true) {
			return nil, errors.New("sink down")
		}
	}
	return f.next.Exec(ctx, alerts...)
}

// TestWorkerRetractionRetried: a reorg orphans a flow that alerted; the retraction's
// delivery fails once, after the taint was undone. The removal stays pending and is judged
// again: the alert is retracted once (Undo keeps the alerts it returns until Forget), and
// the fresh wallet's taint stays undone.
func TestWorkerRetractionRetried(t *testing.T) {
	const fresh = "0xf000000000000000000000000000000000000001"
	e := newWorkerEnv(t)
	transferBlocks(t, e.q, "c", transfer{hopSource, fresh, 9}, transfer{fresh, hopExchange, 9})
	e.runUntilDone(t, e.worker(t, "before", time.Hour), 1)
	rollBack(t, e.q, "c", 2)
	pipeline := &failRetraction{next: e.sink}
	w, err := NewWorker(e.q, e.q, e.lists, e.store, e.rules, pipeline, WorkerOptions{
		Name: "after", Chains: []string{"c"}, Batch: 1, Block: 5 * time.Millisecond,
		ClaimIdle: time.Hour, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	e.runUntilDone(t, w, 2)
	if !pipeline.failed.Load() {
		t.Fatal("no retraction failed: the test tested nothing")
	}
	states := map[alerting.State]int{}
	for _, a := range e.sink.alerts {
		states[a.State]++
	}
	if states[alerting.StateConfirmed] != 1 || states[alerting.StateRetracted] != 1 ||
		len(e.sink.alerts) != 2 {
		t.Fatalf("alerts by state %v, want one confirmed, one retracted", states)
	}
	held, err := e.store.Taints(context.Background(), "c", fresh)
	if err != nil || len(held) != 0 {
		t.Fatalf("the fresh wallet holds %v (%v) after the reorg", held, err)
	}
}
