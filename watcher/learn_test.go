package watcher

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/queue"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
)

// TestWorkerLearnsAfresh: a worker that comes to own a chain again after another owned it
// (its ownership lost, or run out while it stalled) starts the chain's deposit-address
// inferrer and fan-in tracker afresh: what they remembered has a hole where the other
// worker judged the chain, and may hold transfers that a reorg removed meanwhile (the other
// worker was told); TestWorkerWarmsLearners shows them filled again from the stream. While
// it keeps the chain, renewing in time, they keep what they learnt.
func TestWorkerLearnsAfresh(t *testing.T) {
	e := newWorkerEnv(t)
	ctx := context.Background()
	rs := append(slices.Clip(e.rules), rules.Rule{Name: "fan-in", Severity: "high",
		Pattern: rules.PatternFanIn, Count: 3, Window: time.Hour})
	w, err := NewWorker(e.q, e.q, e.lists, e.store, rs, e.sink, WorkerOptions{Name: "w",
		Chains: []string{"c"}, ClaimIdle: time.Minute,
		Deposits: map[string]deposit.Options{"c": {}}, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	own := func(want bool) {
		t.Helper()
		if ok, err := w.own(ctx, "c"); err != nil || ok != want {
			t.Fatalf("own: %v (%v), want %v", ok, err, want)
		}
	}
	n := 0
	learn := func() { // a transfer between two addresses on no list, judged
		t.Helper()
		n++
		amount := big.NewInt(int64(n))
		leg := func(prefix string) []chains.Leg {
			return []chains.Leg{{Address: fmt.Sprintf("%s%d", prefix, n), Asset: "native",
				Amount: amount}}
		}
		m := chains.Movement{Chain: "c", Tx: fmt.Sprintf("0x%02x", n),
			Position: chains.PositionTx, Kind: chains.KindNative,
			Block:  chains.BlockRef{Number: uint64(n), Time: time.Unix(int64(n), 0).UTC()},
			Inputs: leg("0xa"), Outputs: leg("0xb")}
		if _, _, err := w.judge(ctx, "c", []chains.Movement{m}); err != nil {
			t.Fatal(err)
		}
	}
	remembered := func() string {
		return fmt.Sprintf("%d arrivals, %d payments", w.infer["c"].Len(), w.senders["c"].Len())
	}
	sinceRenewal := func(d time.Duration) { w.owned["c"] = time.Now().Add(-d) }
	other := func() {
		t.Helper()
		if ok, err := e.q.Own(ctx, "c", "other", time.Minute); err != nil || !ok {
			t.Fatalf("other: %v, %v", ok, err)
		}
		if err := e.q.Release(ctx, "c", "other"); err != nil {
			t.Fatal(err)
		}
	}

	own(true)
	learn()
	sinceRenewal(20 * time.Second) // renewed in time: it kept the chain
	own(true)
	learn()
	if got := remembered(); got != "2 arrivals, 2 payments" {
		t.Fatalf("after a renewal in time: %s, want 2 of each", got)
	}
	for _, tc := range []struct {
		name string
		gap  func()
	}{
		{"ownership run out", func() {
			sinceRenewal(61 * time.Second)
			if err := e.q.Release(ctx, "c", "w"); err != nil { // as the key expired
				t.Fatal(err)
			}
			other()
		}},
		{"ownership lost", func() {
			if err := e.q.Release(ctx, "c", "w"); err != nil {
				t.Fatal(err)
			}
			if ok, err := e.q.Own(ctx, "c", "other", time.Minute); err != nil || !ok {
				t.Fatalf("other: %v, %v", ok, err)
			}
			sinceRenewal(20 * time.Second)
			own(false)
			if err := e.q.Release(ctx, "c", "other"); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		// In turn on this test's goroutine: the helpers fail t.
		learn()
		tc.gap()
		own(true)
		if got := remembered(); got != "0 arrivals, 0 payments" {
			t.Fatalf("%s, owning the chain again: %s, want nothing", tc.name, got)
		}
	}
}

// TestWorkerWarmsLearners: a worker restarted (or taking a chain over) between a deposit
// address's arrival and its forward to the exchange, and between the payments that pool
// at an address and that address's payment to a listed source, still infers the deposit
// address and sees the fan-in: before it judges anything, its learners read the movements
// judged before it from the stream. Each alert comes once; a learner that started empty
// (the stream trimmed) raises neither.
func TestWorkerWarmsLearners(t *testing.T) {
	const (
		hopCustomer = "0xc000000000000000000000000000000000000001"
		dep         = "0xd000000000000000000000000000000000000001"
		pool        = "0xb000000000000000000000000000000000000001"
	)
	payer := func(i int) string { return fmt.Sprintf("0xa%039x", i) }
	const warmed = "fan-in high -> pooled from 3 senders fan_in; " +
		"to-exchange  -> Binance 14 exchange_deposit"
	for _, tc := range []struct {
		name   string
		trim   bool // the stream dropped what was judged before the restart
		reorg  bool // a reorg removed the customer's payment before the restart
		flaky  bool // reading the stream back fails once, midway
		crash  bool // the customer's payment left pending by a worker that died
		alerts int
		want   string
	}{
		{name: "warm", alerts: 2, want: warmed},
		{name: "stream trimmed", trim: true},
		// What arrived at the address was orphaned: its forward shows no deposit address.
		{name: "arrival reorged", reorg: true, alerts: 1,
			want: "fan-in high -> pooled from 3 senders fan_in"},
		// The learners start again, and the next round reads it all back.
		{name: "reading back failed", flaky: true, alerts: 2, want: warmed},
		// What was judged is read back, what was pending is judged after it.
		{name: "crash with a payment pending", crash: true, alerts: 2, want: warmed},
	} {
		e := newWorkerEnv(t)
		e.rules = append(slices.Clip(e.rules), rules.Rule{Name: "fan-in", Severity: "high",
			Pattern: rules.PatternFanIn, Count: 3, Window: time.Hour})
		worker := func(name string) *Worker {
			var consumer queue.Consumer = e.q
			if tc.flaky && name == "after" {
				consumer = &flakyHistory{Redis: e.q}
			}
			w, err := NewWorker(consumer, e.q, e.lists, e.store, e.rules, e.sink, WorkerOptions{
				Name: name, Chains: []string{"c"}, Batch: 2, Block: 5 * time.Millisecond,
				ClaimIdle: time.Minute, Deposits: map[string]deposit.Options{"c": {}},
				Logger: zaptest.NewLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			return w
		}
		// Before the restart: three payers pool at one address; a customer pays what
		// will turn out to be a deposit address.
		transferBlocks(t, e.q, "c", transfer{payer(1), pool, 1}, transfer{payer(2), pool, 2},
			transfer{payer(3), pool, 3})
		if !tc.crash {
			transferBlocks(t, e.q, "c", transfer{hopCustomer, dep, 5})
		}
		if tc.reorg {
			rollBack(t, e.q, "c", 1)
		}
		e.runUntilDone(t, worker("before"), 0)
		if tc.crash { // a worker took the customer's payment and died
			transferBlocks(t, e.q, "c", transfer{hopCustomer, dep, 5})
			if ms, err := e.q.Read(context.Background(), "c", "dead", 1, time.Second); err !=
				nil || len(ms) != 1 {
				t.Fatalf("read %d, %v", len(ms), err)
			}
		}
		if tc.trim {
			if _, err := e.q.Trim(context.Background(), "c", 0); err != nil {
				t.Fatal(err)
			}
		}
		// After: the address forwards all to the exchange (a deposit address), the
		// source pays it, and the pool pays the source.
		transferBlocks(t, e.q, "c", transfer{dep, hopExchange, 5},
			transfer{hopSource, dep, 7}, transfer{pool, hopSource, 6})
		after := worker("after")
		e.runUntilDone(t, after, tc.alerts)
		var got []string
		for _, a := range e.sink.alerts {
			got = append(got, fmt.Sprintf("%s %s -> %s %s", a.Rule, a.Severity,
				a.Destination.Entity, a.Destination.Category))
		}
		slices.Sort(got)
		if g := strings.Join(got, "; "); g != tc.want {
			t.Errorf("%s: alerts %q, want %q", tc.name, g, tc.want)
		}
		if distinct, total := e.sink.count(); distinct != total {
			t.Errorf("%s: %d alerts, %d distinct", tc.name, total, distinct)
		}
		// What the tracker remembers: payments to addresses on no list. Warmed: the four
		// judged before, and the pool's to the source (the source's to the address
		// came once it was a deposit address). Not: the source's to the address, and the
		// pool's.
		wantPayments := 5
		switch {
		case tc.trim:
			wantPayments = 2
		case tc.reorg: // the customer's payment stays, marked removed, until it is the oldest
			wantPayments = 6
		}
		if n := after.senders["c"].Len(); n != wantPayments {
			t.Errorf("%s: the tracker remembers %d payments, want %d", tc.name, n,
				wantPayments)
		}
	}
}

// flakyHistory fails the first read of a second page of judged entries, as a connection
// to Redis that breaks midway.
type flakyHistory struct {
	*queue.Redis
	failed bool
}

func (f *flakyHistory) Judged(ctx context.Context, chain, before string, count int) (
	[]queue.Message, error) {
	if before != "" && !f.failed {
		f.failed = true
		return nil, errors.New("connection reset")
	}
	return f.Redis.Judged(ctx, chain, before, count)
}

// rollBack publishes chain's last n blocks (those transferBlocks published) as orphaned: their
// movements removed, the cursor back to the block before them.
func rollBack(t *testing.T, q *queue.Redis, chain string, n uint64) {
	t.Helper()
	ctx := context.Background()
	tip, err := q.Tip(ctx, chain)
	if err != nil {
		t.Fatal(err)
	}
	var removed [][]byte
	for b := tip.Number; b > tip.Number-n; b-- {
		rec, ok, err := q.Record(ctx, chain, b)
		if err != nil || !ok {
			t.Fatalf("record %d: %v, %v", b, ok, err)
		}
		for _, p := range rec.Payloads {
			m, err := chains.UnmarshalMovement(p)
			if err != nil {
				t.Fatal(err)
			}
			m.Removed = true
			if p, err = chains.MarshalMovement(&m); err != nil {
				t.Fatal(err)
			}
			removed = append(removed, p)
		}
	}
	to := queue.Tip{Number: tip.Number - n, Hash: fmt.Sprintf("0x%064x", tip.Number-n),
		Valid: true}
	if err := q.Rollback(ctx, chain, tip, to, removed); err != nil {
		t.Fatal(err)
	}
}

// The customer and the deposit address of the read-back reorg tests.
const (
	hopCustomer = "0xc000000000000000000000000000000000000001"
	hopDeposit  = "0xd000000000000000000000000000000000000001"
)

// TestWorkerWarmsBeforeAReorg: a worker restarted after a deposit address's forward was
// judged (the address inferred, and so labelled) but before a reorg's removal of that
// forward was judged. Its learners read the arrival back while the address is labelled by
// the inference that the removal then takes back; they must still remember the arrival,
// as the worker that judged it did, so that the forward mined again infers the address
// again and the source's payment to it alerts. (They did not: the payment was judged as
// one to an unknown address, and a scout's early warning of it retracted.)
func TestWorkerWarmsBeforeAReorg(t *testing.T) {
	e := newWorkerEnv(t)
	worker := func(name string) *Worker { return e.depositWorker(t, name) }
	transferBlocks(t, e.q, "c", transfer{hopCustomer, hopDeposit, 5},
		transfer{hopDeposit, hopExchange, 5})
	e.runUntilDone(t, worker("before"), 0)
	e.wantInferences(t, hopDeposit, 1, "once the forward is judged")
	rollBack(t, e.q, "c", 1) // the forward orphaned; then mined again, and the source pays
	transferBlocks(t, e.q, "c", transfer{hopDeposit, hopExchange, 5},
		transfer{hopSource, hopDeposit, 7})
	e.runUntilDone(t, worker("after"), 0)
	var got []string
	for _, a := range e.sink.alerts {
		got = append(got, fmt.Sprintf("%s %s -> %s %s", a.Rule, a.State,
			a.Destination.Entity, a.Destination.Category))
	}
	if want := "to-exchange confirmed -> Binance 14 exchange_deposit"; strings.Join(got,
		"; ") != want {
		t.Errorf("alerts %q, want %q", got, want)
	}
}

// TestWorkerWarmsAfterAReorg: a worker restarted after a reorg's removal of a deposit
// address's forward and of the source's payment to the address was judged, but before the
// new branch's forward and payment are. The store no longer holds the inference the
// removal undid, yet the payment read back was judged with it: the read-back must see it
// too, or it remembers the payment as an arrival at the address, which the removal then
// forgets with what arrived before, and the forward mined again infers nothing. (A reorg
// soak run missed the payment's alert so.)
func TestWorkerWarmsAfterAReorg(t *testing.T) {
	ctx := context.Background()
	e := newWorkerEnv(t)
	worker := func(name string) *Worker { return e.depositWorker(t, name) }
	transferBlocks(t, e.q, "c", transfer{hopCustomer, hopDeposit, 5},
		transfer{hopDeposit, hopExchange, 5}, transfer{hopSource, hopDeposit, 7})
	before := worker("before")
	e.runUntilDone(t, before, 1)
	rollBack(t, e.q, "c", 2) // the forward and the payment orphaned, judged so
	e.runUntilDone(t, before, 1)
	e.wantInferences(t, hopDeposit, 0, "after the reorg")
	// The new branch mines both again; a new worker judges them.
	transferBlocks(t, e.q, "c", transfer{hopDeposit, hopExchange, 5},
		transfer{hopSource, hopDeposit, 7})
	e.runUntilDone(t, worker("after"), 1)
	e.wantInferences(t, hopDeposit, 1, "once mined again")
	payment := fmt.Sprintf("c/0x%064x/tx", 3)
	rec, err := e.store.Recorded(ctx, "c", payment)
	if err != nil || len(rec[payment]) == 0 {
		t.Fatalf("the payment mined again raised no alert: %q, %v", rec[payment], err)
	}
}

// depositWorker is a worker of chain "c" named name that infers deposit addresses, reading
// two entries at a time.
func (e *workerEnv) depositWorker(t *testing.T, name string) *Worker {
	t.Helper()
	w, err := NewWorker(e.q, e.q, e.lists, e.store, e.rules, e.sink, WorkerOptions{
		Name: name, Chains: []string{"c"}, Batch: 2, Block: 5 * time.Millisecond,
		ClaimIdle: time.Minute, Deposits: map[string]deposit.Options{"c": {}},
		Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// wantInferences checks that the store holds want inferences (0 or 1) about addr on chain
// "c", when.
func (e *workerEnv) wantInferences(t *testing.T, addr string, want int, when string) {
	t.Helper()
	got, err := e.store.Taints(context.Background(), "c", deposit.Key(addr))
	if err != nil || len(got) != want {
		t.Fatalf("inference of %s %s: %v, %v; want %d", addr, when, got, err, want)
	}
}

// TestWorkerLearnsWhatWasApplied: an entry is judged again after its write. It holds two
// customers' payments to what will turn out to be a deposit address and, after them, a
// payment of the source's (whose taint is written); the address then forwards their sum to
// the exchange, which infers it, and the source's payment to it must alert.
//   - Taken over: the write went through and the worker died before it acknowledged the
//     entry. The worker that takes the chain over read back only what was acknowledged, and
//     skips what was applied (judging it again would count its value twice): its learners
//     must still learn the skipped payments (they did not: a kill test with reorgs missed
//     the payment's alert so).
//   - Reply lost, or write failed: the same worker judges the entry again, with learners
//     that were given it before the write. They must not be given it twice, or the sum
//     counts each payment twice (it did, when the write failed). With the forward in the
//     entry too, what the inferrer inferred of it then must be written now.
func TestWorkerLearnsWhatWasApplied(t *testing.T) {
	for _, tc := range []struct {
		how     string
		forward bool // the forward is in the entry too: what the inferrer inferred of it
	}{{how: "taken over"}, {how: "reply lost"}, {how: "write failed"},
		{how: "write failed", forward: true}} {
		name := tc.how
		if tc.forward {
			name += ", forward in the entry"
		}
		t.Run(name, func(t *testing.T) { testLearnsWhatWasApplied(t, tc.how, tc.forward) })
	}
}

func testLearnsWhatWasApplied(t *testing.T, how string, forward bool) {
	const (
		fresh     = "0xf000000000000000000000000000000000000001"
		customer2 = "0xc000000000000000000000000000000000000002"
	)
	e := newWorkerEnv(t)
	ctx := context.Background()
	// In wei: twice the sum, or either payment, is not the sum within the tolerance
	// of the chain's coin (deposit.DefaultNativeTolerance).
	ts := []transfer{{hopCustomer, hopDeposit, 5e17}, {customer2, hopDeposit, 3e17}}
	// Then the address forwards the sum to the exchange (a deposit address), and the
	// source pays it.
	fwd, pay := transfer{hopDeposit, hopExchange, 8e17}, transfer{hopSource, hopDeposit, 7}
	if forward {
		ts = append(ts, fwd)
	}
	ts = append(ts, transfer{hopSource, fresh, 3}) // written
	// One entry, judged as one batch.
	n := appendBlock(t, e.q, "c", func(b chains.BlockRef) [][]byte {
		var ps [][]byte
		for i, tr := range ts {
			ps = append(ps, marshal(t, transferMovement("c", b,
				fmt.Sprintf("0x%063x%d", b.Number, i), tr)))
		}
		return ps
	})
	payBlock := n + 1
	if forward {
		transferBlocks(t, e.q, "c", pay)
	} else {
		transferBlocks(t, e.q, "c", fwd, pay)
		payBlock++
	}
	written := fmt.Sprintf("c/0x%063x%d/tx", n, len(ts)-1)
	worker := func(name string, store taint.Store) *Worker {
		w, err := NewWorker(e.q, e.q, e.lists, store, e.rules, e.sink, WorkerOptions{
			Name: name, Chains: []string{"c"}, Batch: 1, Block: 5 * time.Millisecond,
			ClaimIdle: time.Minute, Deposits: map[string]deposit.Options{"c": {}},
			Logger: zaptest.NewLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	switch how {
	case "taken over":
		run, kill := context.WithCancel(ctx)
		store := &crashAfterApply{Redis: e.store, key: written, kill: kill}
		if err := worker("before", store).Run(run); !errors.Is(err, context.Canceled) {
			t.Fatalf("run before: %v", err)
		}
		if !store.done {
			t.Fatal("the worker was never killed: the test did not test anything")
		}
		if left, err := e.q.Backlog(ctx, "c"); err != nil || left == 0 {
			t.Fatalf("backlog %d (%v), want the entries left pending", left, err)
		}
		e.runUntilDone(t, worker("after", e.store), 1)
	case "reply lost":
		store := &lostReply{Redis: e.store, key: written}
		e.runUntilDone(t, worker("w", store), 1)
		if !store.lost.Load() {
			t.Fatal("the reply was never lost: the test did not test anything")
		}
	case "write failed":
		store := &crashAfterApply{Redis: e.store, key: written, fail: true, kill: func() {}}
		e.runUntilDone(t, worker("w", store), 1)
		if !store.done {
			t.Fatal("the write never failed: the test did not test anything")
		}
	}
	e.wantInferences(t, hopDeposit, 1, "once the forward is judged")
	var got []string
	for _, a := range e.sink.alerts {
		got = append(got, fmt.Sprintf("%s %s -> %s %s", a.Rule, a.Tx, a.Destination.Entity,
			a.Destination.Category))
	}
	want := fmt.Sprintf("to-exchange 0x%064x -> Binance 14 exchange_deposit", payBlock)
	if strings.Join(got, "; ") != want {
		t.Errorf("alerts %q, want %q", got, want)
	}
}
