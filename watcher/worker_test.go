package watcher

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sync/errgroup"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/fanin"
	"github.com/flowwatch/flowwatch/watcher/queue"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

// captured records what reached the end of the alerting pipeline.
type captured struct {
	mu     sync.Mutex
	byKey  map[string]int
	alerts []alerting.Alert // in the order they came
}

func (c *captured) Exec(_ context.Context, alerts ...alerting.Alert) ([]alerting.Alert, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range alerts {
		c.byKey[a.DedupKey()]++
		c.alerts = append(c.alerts, a)
	}
	return alerts, nil
}

func (c *captured) count() (distinct, total int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.byKey {
		total += n
	}
	return len(c.byKey), total
}

const (
	hopSource   = "0x5000000000000000000000000000000000000005"
	hopExchange = "0xe000000000000000000000000000000000000001"
)

// hopBlocks publishes flows two-hop flows, one movement per block: the source pays a fresh
// wallet, then the fresh wallet pays the exchange. Each flow must raise one alert, which
// only a worker that judged the first hop before the second can raise.
func hopBlocks(t *testing.T, q queue.Journal, chain string, flows int) {
	t.Helper()
	var ts []transfer
	for i := range flows {
		fresh := fmt.Sprintf("0xf%039x", i)
		ts = append(ts, transfer{hopSource, fresh, 9}, transfer{fresh, hopExchange, 9})
	}
	transferBlocks(t, q, chain, ts...)
}

// transfer is a native transfer on an account chain.
type transfer struct {
	from, to string
	amount   int64
}

// transferBlocks publishes each transfer in a block of its own, after chain's tip.
func transferBlocks(t *testing.T, q queue.Journal, chain string, ts ...transfer) {
	t.Helper()
	for _, tr := range ts {
		appendBlock(t, q, chain, func(b chains.BlockRef) [][]byte {
			return [][]byte{marshal(t, transferMovement(chain, b, fmt.Sprintf("0x%064x", b.Number),
				tr))}
		})
	}
}

// appendBlock publishes the next block of chain as one entry, whose payloads are those
// payloads returns for the block, and returns the block's number.
func appendBlock(t *testing.T, q queue.Journal, chain string,
	payloads func(b chains.BlockRef) [][]byte) uint64 {
	t.Helper()
	ctx := context.Background()
	tip, err := q.Tip(ctx, chain)
	if err != nil {
		t.Fatal(err)
	}
	n := tip.Number + 1
	rec := queue.Record{Number: n, Hash: fmt.Sprintf("0x%064x", n), ParentHash: tip.Hash}
	rec.Payloads = payloads(chains.BlockRef{Number: n, Hash: rec.Hash,
		ParentHash: rec.ParentHash, Time: time.Unix(1.7e9, 0).UTC()})
	if err := q.Append(ctx, chain, tip, rec, 8); err != nil {
		t.Fatal(err)
	}
	return n
}

// transferMovement is tr, a transfer of the chain's coin, by transaction tx in block b.
func transferMovement(chain string, b chains.BlockRef, tx string, tr transfer) chains.Movement {
	amount := func() *big.Int { return big.NewInt(tr.amount) }
	return chains.Movement{Chain: chain, Block: b, Tx: tx, Position: chains.PositionTx,
		Kind:    chains.KindNative,
		Inputs:  []chains.Leg{{Address: tr.from, Asset: "native", Amount: amount()}},
		Outputs: []chains.Leg{{Address: tr.to, Asset: "native", Amount: amount()}}}
}

// marshal is m encoded as a queue payload.
func marshal(t *testing.T, m chains.Movement) []byte {
	t.Helper()
	p, err := chains.MarshalMovement(&m)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type workerEnv struct {
	q     *queue.Redis
	store *taint.Redis
	lists *watchlist.Lists
	rules []rules.Rule
	sink  *captured
}

func newWorkerEnv(t testing.TB) *workerEnv {
	rdb, prefix := redistest.New(t)
	lists := watchlist.New()
	lists.AddSource("c", hopSource, rules.Source{Entity: "Lazarus Group", Category: "hack"})
	lists.AddLabel("c", hopExchange, rules.Label{Entity: "Binance 14", Category: "exchange"})
	return &workerEnv{q: queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix}),
		store: taint.NewRedis(rdb, prefix), lists: lists,
		rules: []rules.Rule{{Name: "to-exchange", Destinations: []string{"exchange"},
			MaxHops: 3}},
		sink: &captured{byKey: map[string]int{}}}
}

func (e *workerEnv) worker(t *testing.T, name string, claimIdle time.Duration) *Worker {
	w, err := NewWorker(e.q, e.q, e.lists, e.store, e.rules, e.sink, WorkerOptions{
		Name: name, Chains: []string{"c"}, Batch: 1, Block: 5 * time.Millisecond,
		ClaimIdle: claimIdle, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// runUntilDone runs w until every entry of the chain is acknowledged and want alerts
// arrived, then stops it.
func (e *workerEnv) runUntilDone(t *testing.T, w *Worker, want int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	e.waitDone(t, want)
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("run: %v", err)
	}
}

// waitDone waits until every entry of chain is acknowledged and want alerts arrived.
func (e *workerEnv) waitDone(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		left, err := e.q.Backlog(context.Background(), "c")
		if err != nil {
			t.Fatal(err)
		}
		if distinct, _ := e.sink.count(); left == 0 && distinct >= want {
			return
		}
		if time.Now().After(deadline) {
			distinct, _ := e.sink.count()
			t.Fatalf("backlog %d, %d of %d alerts", left, distinct, want)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
}

// TestWorkersShareAChain: three workers on one chain, reading one entry at a time. Only the
// chain's owner reads it, so every second hop is judged after the first and every flow
// alerts, once. (Without ownership, workers judged hops out of order and missed alerts.)
func TestWorkersShareAChain(t *testing.T) {
	const flows = 60
	e := newWorkerEnv(t)
	hopBlocks(t, e.q, "c", flows)
	ctx, cancel := context.WithCancel(context.Background())
	g, gctx := errgroup.WithContext(ctx)
	for i := range 3 {
		w := e.worker(t, fmt.Sprintf("w%d", i), time.Minute)
		g.Go(func() error { return w.Run(gctx) })
	}
	e.waitDone(t, flows)
	cancel()
	if err := g.Wait(); err != context.Canceled {
		t.Fatalf("run: %v", err)
	}
	if distinct, total := e.sink.count(); distinct != flows || total != flows {
		t.Fatalf("%d distinct alerts, %d in all; want %d once each", distinct, total, flows)
	}
}

// TestWorkerTakesOverFromDeadOwner: a worker that owned the chain died holding unfinished
// entries. Another worker waits for the ownership to expire, then finishes those entries
// in order before the new ones: every flow alerts once.
func TestWorkerTakesOverFromDeadOwner(t *testing.T) {
	const flows = 20
	const claimIdle = 300 * time.Millisecond
	e := newWorkerEnv(t)
	hopBlocks(t, e.q, "c", flows)
	ctx := context.Background()
	// The dead worker: it owned the chain and read the first 15 entries (first and second
	// hops), then stopped.
	if ok, err := e.q.Own(ctx, "c", "dead", claimIdle); err != nil || !ok {
		t.Fatalf("own: %v %v", ok, err)
	}
	if got, err := e.q.Read(ctx, "c", "dead", 15, time.Millisecond); err != nil ||
		len(got) != 15 {
		t.Fatalf("read: %d, %v", len(got), err)
	}
	start := time.Now()
	e.runUntilDone(t, e.worker(t, "standby", claimIdle), flows)
	if took := time.Since(start); took < claimIdle {
		t.Fatalf("took over after %v, before the dead owner's %v ran out", took, claimIdle)
	}
	if distinct, total := e.sink.count(); distinct != flows || total != flows {
		t.Fatalf("%d distinct alerts, %d in all; want %d once each", distinct, total, flows)
	}
	// A graceful stop released the chain: another worker may own it at once.
	if ok, err := e.q.Own(ctx, "c", "next", time.Minute); err != nil || !ok {
		t.Fatalf("the chain was not released: %v %v", ok, err)
	}
}

// failOnce fails the first delivery, as a sink that is down would after its retries.
type failOnce struct {
	next   alerting.Stage
	failed atomic.Bool
}

func (f *failOnce) Exec(ctx context.Context, alerts ...alerting.Alert) ([]alerting.Alert,
	error) {
	if f.failed.CompareAndSwap(false, true) {
		return nil, errors.New("sink down")
	}
	return f.next.Exec(ctx, alerts...)
}

// TestWorkerRetriesFailedBatchInOrder: when processing a batch fails, its entries stay
// pending and are processed again, before any newer entry, without waiting for ClaimIdle.
func TestWorkerRetriesFailedBatchInOrder(t *testing.T) {
	const flows = 10
	e := newWorkerEnv(t)
	hopBlocks(t, e.q, "c", flows)
	w, err := NewWorker(e.q, e.q, e.lists, e.store, e.rules, &failOnce{next: e.sink},
		WorkerOptions{Name: "w", Chains: []string{"c"}, Batch: 1,
			Block: 5 * time.Millisecond, ClaimIdle: time.Hour,
			Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	e.runUntilDone(t, w, flows)
	if distinct, total := e.sink.count(); distinct != flows || total != flows {
		t.Fatalf("%d distinct alerts, %d in all; want %d once each", distinct, total, flows)
	}
}

// TestWorkerFencedAfterLosingChain: a worker that stalled while another took its chain over
// cannot write: its taint write is fenced, so the alert it judged is neither recorded nor
// sent and its entry stays pending; it stands by, and once the chain is free again it takes
// it back and finishes. (An entry that changes nothing is still acknowledged: acks are not
// fenced.)
func TestWorkerFencedAfterLosingChain(t *testing.T) {
	e := newWorkerEnv(t)
	ctx := context.Background()
	rdb := redistest.Client(t)
	core, logs := observer.New(zap.WarnLevel)
	w, err := NewWorker(e.q, e.q, e.lists, e.store, e.rules, e.sink, WorkerOptions{
		Name: "stalled", Chains: []string{"c"}, Batch: 1, Block: 5 * time.Millisecond,
		ClaimIdle: time.Minute, // renews every 15 s: not during this test
		Logger:    zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	fenced := func() bool {
		return logs.FilterMessage("lost the ownership of a chain during a round; another "+
			"worker has it").Len() > 0
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	hopBlocks(t, e.q, "c", 1)
	e.waitDone(t, 1)
	// Another worker takes the chain over (as if the first had stalled past its lease).
	if err := rdb.Set(ctx, e.q.OwnerKey("c"), "usurper", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	hopBlocks(t, e.q, "c", 1) // flow 0 again, in new transactions: its fresh wallet is 0xf0…0
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := e.q.Backlog(ctx, "c")
		if err != nil {
			t.Fatal(err)
		}
		if p, _ := rdb.XPending(ctx, e.q.StreamKey("c"), queue.DefaultGroup).Result(); n >= 1 &&
			p != nil && p.Count > 0 && fenced() {
			break // the stalled worker read the new entries and could not finish them
		}
		if time.Now().After(deadline) {
			t.Fatalf("backlog %d: the fenced worker's entries were acknowledged", n)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
	if distinct, total := e.sink.count(); distinct != 1 || total != 1 {
		t.Fatalf("%d alerts (%d in all) after the chain was lost; want only the first", distinct,
			total)
	}
	// The usurper leaves: the worker takes the chain back and finishes.
	if err := rdb.Del(ctx, e.q.OwnerKey("c")).Err(); err != nil {
		t.Fatal(err)
	}
	e.waitDone(t, 2) // the second flow's alert, in its own block
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("run: %v", err)
	}
}

// TestWorkerRestartKnowsTaint: a worker judges the first hops and stops; a new worker, its
// cache empty, judges the second hops. It learns from the store which wallets hold taint
// (it never saw them written), so every second hop alerts, once; and it asks the store
// about no other address.
func TestWorkerRestartKnowsTaint(t *testing.T) {
	const flows = 20
	e := newWorkerEnv(t)
	var firsts, seconds []transfer
	for i := range flows {
		fresh := fmt.Sprintf("0xf%039x", i)
		firsts = append(firsts, transfer{hopSource, fresh, 9})
		seconds = append(seconds, transfer{fresh, hopExchange, 9},
			transfer{fmt.Sprintf("0xc%039x", i), hopExchange, 9}) // clean
	}
	run := func(name string, store taint.Store, want int) {
		t.Helper()
		w, err := NewWorker(e.q, e.q, e.lists, store, e.rules, e.sink, WorkerOptions{
			Name: name, Chains: []string{"c"}, Batch: 4, Block: 5 * time.Millisecond,
			Logger: zaptest.NewLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		e.runUntilDone(t, w, want)
	}
	transferBlocks(t, e.q, "c", firsts...)
	run("first", e.store, 0)
	transferBlocks(t, e.q, "c", seconds...)
	counting := &countingStore{Store: e.store}
	run("second", counting, flows)
	if distinct, total := e.sink.count(); distinct != flows || total != flows {
		t.Fatalf("%d distinct alerts, %d in all; want %d once each", distinct, total, flows)
	}
	fresh := 0
	for _, k := range counting.asked {
		if strings.HasPrefix(k, "0xf") {
			fresh++
		}
	}
	if counting.scans != 1 || len(counting.asked) != flows || fresh != flows {
		t.Fatalf("%d scans; asked the store about %q", counting.scans, counting.asked)
	}
}

// TestWorkerOwnsAgainAfterLapse: a worker stalled past its ownership's term; meanwhile
// another owned the chain, wrote taint and let it go. The stalled worker's renewal
// succeeds, but it must not trust what it knew: it reads the store again and sees the
// wallet the other tainted.
func TestWorkerOwnsAgainAfterLapse(t *testing.T) {
	e := newWorkerEnv(t)
	ctx := context.Background()
	w := e.worker(t, "stalled", time.Minute)
	heldNow := func() bool {
		t.Helper()
		if ok, err := w.own(ctx, "c"); err != nil || !ok {
			t.Fatalf("own: %v, %v", ok, err)
		}
		_, flags, err := w.cache.lookup(ctx, e.store, "c", []string{"0xaa"}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return flags[0]&baseHeld != 0
	}
	if heldNow() {
		t.Fatal("0xaa holds taint before anyone wrote it")
	}
	// The stall: the term ran out (the release stands for the key's expiry).
	w.owned["c"] = time.Now().Add(-61 * time.Second)
	if err := e.q.Release(ctx, "c", "stalled"); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.q.Own(ctx, "c", "other", time.Minute); err != nil || !ok {
		t.Fatalf("other: %v, %v", ok, err)
	}
	err := e.store.ApplyAll(ctx, "c", taint.Fence{}, []taint.Effect{{Key: "m1",
		Taints: []rules.NewTaint{{Address: "0xaa", Taint: rules.Taint{Root: hopSource}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.q.Release(ctx, "c", "other"); err != nil {
		t.Fatal(err)
	}
	if !heldNow() {
		t.Fatal("after the lapse, the worker trusted what it knew before")
	}
}

// deadlineScan refuses to scan under a deadline.
type deadlineScan struct{ taint.Store }

func (s deadlineScan) Keys(ctx context.Context, chain string, fn func(string)) error {
	if _, ok := ctx.Deadline(); ok {
		return errors.New("scan under a deadline")
	}
	return s.Store.Keys(ctx, chain, fn)
}

// TestWorkerScansOutsideDrainTimeout: the scan of which bases hold taint, when a worker
// comes to own a chain, takes seconds for millions of keys; it must not run under the
// DrainTimeout that bounds processing read entries, or a large store would time it out at
// every attempt and the chain would never move.
func TestWorkerScansOutsideDrainTimeout(t *testing.T) {
	const flows = 5
	e := newWorkerEnv(t)
	hopBlocks(t, e.q, "c", flows)
	w, err := NewWorker(e.q, e.q, e.lists, deadlineScan{e.store}, e.rules, e.sink,
		WorkerOptions{Name: "w", Chains: []string{"c"}, Batch: 4,
			Block: 5 * time.Millisecond, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	e.runUntilDone(t, w, flows)
}

// TestWorkerFanInBounds: a chain's fan-in bounds reach its tracker, which refuses them
// when out of range, naming the chain.
func TestWorkerFanInBounds(t *testing.T) {
	rs := []rules.Rule{{Name: "fan-in", Severity: "high", Pattern: rules.PatternFanIn,
		Count: 3, Window: time.Hour}}
	_, err := NewWorker(nil, nil, watchlist.New(), nil, rs, nil, WorkerOptions{Name: "w",
		Chains: []string{"eth"},
		FanIn:  map[string]fanin.Options{"eth": {MaxPayments: fanin.MaxMaxPayments + 1}}})
	if err == nil || !strings.Contains(err.Error(), "fan-in senders of eth: max_payments") {
		t.Fatalf("error %v, want the chain's max_payments named", err)
	}
}

// TestWorkerMalformedEntry: an entry whose only movement does not decode is logged and
// acknowledged, and the worker goes on to the next entry, which alerts once.
func TestWorkerMalformedEntry(t *testing.T) {
	e := newWorkerEnv(t)
	appendBlock(t, e.q, "c", func(chains.BlockRef) [][]byte {
		return [][]byte{[]byte(`{"chain":"c","inputs":[`)}
	})
	transferBlocks(t, e.q, "c", transfer{hopSource, hopExchange, 5})
	e.runUntilDone(t, e.worker(t, "w", time.Minute), 1)
	if distinct, total := e.sink.count(); distinct != 1 || total != 1 {
		t.Fatalf("%d alerts, %d distinct; want one", total, distinct)
	}
}
