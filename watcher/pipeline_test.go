package watcher

import (
	"context"
	"math/big"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"go.uber.org/zap/zaptest"
	"golang.org/x/sync/errgroup"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/webhook"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/queue"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

var hookSecret = []byte("e2e-secret")

// hookReceiver is a real HTTP endpoint that verifies signatures and records every
// notification it accepts.
type hookReceiver struct {
	mu  sync.Mutex
	got []alerting.Alert
	bad int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, err := webhook.Receive(r, hookSecret, time.Now(), time.Minute)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		h.bad++
		http.Error(w, err.Error(), webhook.ErrorStatus(err))
		return
	}
	h.got = append(h.got, p.Alerts...)
}

// summaries returns "<rule> <state> <hops> <destination>" per notification, sorted.
func (h *hookReceiver) summaries() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, a := range h.got {
		out = append(out, a.Rule+" "+string(a.State)+" "+itoaHops(len(a.Path))+" "+
			a.Destination.Entity)
	}
	sort.Strings(out)
	return out
}

func itoaHops(n int) string { return big.NewInt(int64(n)).String() + "hop" }

func (h *hookReceiver) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if s := h.summaries(); len(s) >= n {
			return s
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
	t.Fatalf("got %d notifications, want %d: %v", len(h.summaries()), n, h.summaries())
	return nil
}

func addr(a common.Address) string { return strings.ToLower(a.Hex()) }

// TestPipelineEndToEnd plays, on the simulated chain with real Redis, a direct flow and a
// two-hop flow from a watched wallet to an exchange and to a mixer: each alerts exactly
// once at a webhook receiver, with its path. Then a reorg orphans the block that tainted
// the two-hop route: its alerts are retracted and its taint undone.
func TestPipelineEndToEnd(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	c, src := devChain(t)

	lazarus := c.Keys[0]
	exchange := common.HexToAddress("0x28C6c06298d514Db089934071355E5743bf21d60")
	mixer := common.HexToAddress("0xA160cdAB225685dA1d56aa342Ad8841c3b53f291")
	lists := watchlist.New()
	lists.AddSource("dev", addr(c.Addrs[0]), rules.Source{Entity: "Lazarus Group",
		Category: "sanctioned", List: "test"})
	lists.AddLabel("dev", addr(exchange), rules.Label{Entity: "Binance 14", Category: "exchange"})
	lists.AddLabel("dev", addr(mixer), rules.Label{Entity: "Tornado Cash", Category: "mixer"})
	rs := []rules.Rule{
		{Name: "to-exchange", Severity: "high", Destinations: []string{"exchange"}, MaxHops: 3},
		{Name: "to-mixer", Severity: "critical", Destinations: []string{"mixer"}, MaxHops: 3},
	}

	recv := &hookReceiver{}
	pipeline := hookPipeline(t, recv, rdb, prefix)
	q := queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix})
	store := taint.NewRedis(rdb, prefix)
	startPipeline(t, src, q, store, lists, rs, pipeline, "dev", 1)

	fresh := func(i int) (*ecdsaKey, common.Address) {
		k := crypto.ToECDSAUnsafe(crypto.Keccak256([]byte{byte(i), 'f'}))
		return k, crypto.PubkeyToAddress(k.PublicKey)
	}
	send := func(k *ecdsaKey, to common.Address, v int64) {
		t.Helper()
		r, err := c.Transfer(ctx, k, to, eth(v))
		if err != nil || r.Status != 1 {
			t.Fatalf("transfer: %v", err)
		}
	}
	// Direct flows.
	send(lazarus, exchange, 1)
	send(lazarus, mixer, 2)
	// Two hops: lazarus -> f1 -> exchange and f1 -> mixer. Clean traffic alongside.
	f1k, f1 := fresh(1)
	send(lazarus, f1, 50)
	forkPoint, err := src.Ref(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	send(f1k, exchange, 10)
	send(f1k, mixer, 11)
	send(c.Keys[3], exchange, 4) // clean
	want := []string{"to-exchange confirmed 1hop Binance 14", "to-exchange confirmed 2hop Binance 14",
		"to-mixer confirmed 1hop Tornado Cash", "to-mixer confirmed 2hop Tornado Cash"}
	got := recv.waitFor(t, 4)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("notifications:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if taints, _ := store.Taints(ctx, "dev", addr(f1)); len(taints) != 1 {
		t.Fatal("f1 is not tainted")
	}

	// Reorg: orphan blocks 4.. (the two-hop deliveries) with a longer branch. geth's pool
	// re-mines the orphaned transactions on the new branch.
	hopTxs := map[string]string{} // tx -> its original block hash
	for _, a := range recv.alerts() {
		if len(a.Path) == 2 {
			hopTxs[a.Tx] = a.BlockHash
		}
	}
	if err := c.Fork(common.HexToHash(forkPoint.Hash)); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		send(c.Keys[4], c.Addrs[5], 1)
	}
	waitSettled(t, src, q, "dev")
	// Expected: each two-hop alert retracted once, and confirmed again once if its
	// transaction is canonical on the new branch (in its new block).
	want = append(want, "to-exchange retracted 2hop Binance 14",
		"to-mixer retracted 2hop Tornado Cash")
	remined := 0
	for tx, oldBlock := range hopTxs {
		r, err := c.Client.TransactionReceipt(ctx, common.HexToHash(tx))
		if err == nil && strings.ToLower(r.BlockHash.Hex()) != oldBlock {
			remined++
		}
	}
	for _, a := range recv.alerts() {
		if a.State == alerting.StateConfirmed && len(a.Path) == 2 && hopTxs[a.Tx] != a.BlockHash {
			want = append(want, a.Rule+" confirmed 2hop "+a.Destination.Entity)
		}
	}
	sort.Strings(want)
	got = recv.summaries()
	if strings.Join(got, "|") != strings.Join(want, "|") || len(want) != 6+remined {
		t.Fatalf("after the reorg (%d re-mined):\n%s\nwant:\n%s", remined,
			strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	seen := map[string]bool{}
	for _, a := range recv.alerts() {
		if seen[a.DedupKey()] {
			t.Fatalf("notified twice: %s", a.DedupKey())
		}
		seen[a.DedupKey()] = true
	}
	if recv.bad != 0 {
		t.Fatalf("%d notifications failed verification", recv.bad)
	}
	r, err := alerting.Verify(ctx, alerting.NewRedisJournal(rdb, prefix, nil))
	if err != nil || !r.OK() || r.Entries != uint64(len(want)) {
		t.Fatalf("alert log: %+v, %v; want %d entries, chained", r, err, len(want))
	}
}

type ecdsaKey = devnetKey

func eth(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }

// waitSettled waits until the poller's cursor is on the node's head and the workers have
// acknowledged everything.
func waitSettled(t *testing.T, src chains.Source, q testQueue, chain string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		head, err := src.Head(ctx)
		tip, terr := q.Tip(ctx, chain)
		ref, rerr := src.Ref(ctx, head)
		n, berr := q.Backlog(ctx, chain)
		if err == nil && terr == nil && rerr == nil && berr == nil && tip.Number == head &&
			tip.Hash == ref.Hash && n == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
	t.Fatal("the pipeline did not settle on the head")
}

// startPipeline runs a poller of chain from start and one worker until the test ends;
// options, if any, change the worker's. It returns the worker.
func startPipeline(t *testing.T, src chains.Source, q *queue.Redis, store taint.Store,
	lists Lists, rs []rules.Rule, pipeline alerting.Stage, chain string, start uint64,
	options ...func(*WorkerOptions)) *Worker {
	t.Helper()
	return startPipelineAfter(t, 0, src, q, store, lists, rs, pipeline, chain, start,
		options...)
}

// startPipelineAfter is startPipeline with a poller that publishes a block once it has
// confirmations.
func startPipelineAfter(t *testing.T, confirmations uint64, src chains.Source, q *queue.Redis,
	store taint.Store, lists Lists, rs []rules.Rule, pipeline alerting.Stage, chain string,
	start uint64, options ...func(*WorkerOptions)) *Worker {
	t.Helper()
	log := zaptest.NewLogger(t)
	poller, err := NewPoller(src, q, q, PollerOptions{Chain: chain, StartBlock: start,
		Confirmations: confirmations, PollInterval: 5 * time.Millisecond, Depth: 16,
		Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	opts := WorkerOptions{Name: "w1", Chains: []string{chain}, Block: 20 * time.Millisecond,
		Logger: log}
	for _, o := range options {
		o(&opts)
	}
	worker, err := NewWorker(q, q, lists, store, rs, pipeline, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return poller.Run(ctx) })
	g.Go(func() error { return worker.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		if err := g.Wait(); err != context.Canceled {
			t.Errorf("run: %v", err)
		}
	})
	return worker
}

func (h *hookReceiver) alerts() []alerting.Alert {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]alerting.Alert(nil), h.got...)
}
