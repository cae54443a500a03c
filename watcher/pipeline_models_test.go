package watcher

import (
	"context"
	"fmt"
	"math/big"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/redis/go-redis/v9"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/webhook"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/ethereum"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/queue"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

// TestPipelineModels plays a two-hop laundering run on the simulated chain through the real
// pipeline under poison, haircut and FIFO at once, and checks each alert's tainted amount
// and its path's, worked out by hand:
//
//	Lazarus pays A 40 ETH; a clean wallet pays A 60; A pays the exchange 30, then B 50; B
//	pays the exchange 20.
//	poison:  30 and 20, all tainted.
//	haircut: A holds 40 of 100: 30 carries 12 (A: 28 of 70); B gets 50 carrying 20, and its
//	         20 to the exchange carries 20 × 20/50 = 8.
//	FIFO:    A holds [40t, 60c]: 30 is tainted in full (A: [10t, 60c]); B gets [10t, 40c],
//	         and its 20 carries 10.
//
// Then a reorg orphans the block of A's payment to B and everything after; whatever the new
// branch mines again, the stored taint of A and B under every model must equal what
// replaying the canonical branch gives, which it cannot if undoing the orphaned movements
// left a debit or credit behind.
func TestPipelineModels(t *testing.T) {
	ctx := context.Background()
	lab := newLab(t)
	c, src, q, store, recv, exchange := lab.chain, lab.src, lab.q, lab.store, lab.recv,
		lab.exchange
	key := labKey
	ak, a := key("model-a")
	bk, b := key("model-b")
	send := func(k *ecdsaKey, to common.Address, v int64) { lab.send(t, k, to, eth(v)) }
	send(c.Keys[0], a, 40)
	send(c.Keys[3], a, 60)
	send(ak, exchange, 30)
	forkPoint := lab.head(t)
	send(ak, b, 50)
	send(bk, exchange, 20)

	want := []string{
		"fifo confirmed 30 all | 40 all, 30 all",
		"fifo confirmed 20 10 | 40 all, 50 10, 20 10",
		"haircut confirmed 30 12 | 40 all, 30 12",
		"haircut confirmed 20 8 | 40 all, 50 20, 20 8",
		"poison confirmed 30 all | 40 all, 30 all",
		"poison confirmed 20 all | 40 all, 50 all, 20 all",
	}
	sort.Strings(want)
	recv.waitFor(t, len(want))
	if got := amountSummaries(recv.alerts(), 18); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	if err := c.Fork(common.HexToHash(forkPoint.Hash)); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		send(c.Keys[4], c.Addrs[5], 1)
	}
	waitSettled(t, src, q, "dev")
	// What the canonical branch holds now: A's payment to B and B's to the exchange, each
	// mined again or not.
	mined := func(from common.Address, nonce uint64) bool {
		n, err := c.Client.NonceAt(ctx, from, nil)
		if err != nil {
			t.Fatal(err)
		}
		return n > nonce
	}
	aToB, bToX := mined(a, 1), mined(b, 0)
	t.Logf("after the reorg: A->B mined again %v, B->X %v", aToB, bToX)
	wantTaint := map[string]string{ // A's and B's stored holdings, by key
		addr(a): "all", "h/" + addr(a): "28/70", "f/" + addr(a): "10t+60c"}
	if aToB {
		wantTaint["h/"+addr(a)], wantTaint["f/"+addr(a)] = "8/20", "20c"
		wantTaint[addr(b)], wantTaint["h/"+addr(b)], wantTaint["f/"+addr(b)] =
			"all", "20/50", "10t+40c"
		if bToX {
			wantTaint["h/"+addr(b)], wantTaint["f/"+addr(b)] = "12/30", "30c"
		}
	}
	keys := []string{addr(a), "h/" + addr(a), "f/" + addr(a), addr(b), "h/" + addr(b),
		"f/" + addr(b)}
	got, err := store.Taints(ctx, "dev", keys...)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		w, ok := wantTaint[k]
		g, has := got[k]
		if ok != has || (has && holdingString(g) != w) {
			t.Errorf("%s: holds %q (stored %v), want %q (stored %v)", k, holdingString(g), has,
				w, ok)
		}
	}
	// Every alert of the orphaned blocks is retracted once; nothing is notified twice.
	retracted := 0
	seen := map[string]bool{}
	for _, al := range recv.alerts() {
		if al.State == alerting.StateRetracted {
			retracted++
		}
		if seen[al.DedupKey()] {
			t.Fatalf("notified twice: %s", al.DedupKey())
		}
		seen[al.DedupKey()] = true
	}
	if retracted != 3 {
		t.Fatalf("%d retractions, want 3 (B's payment to the exchange, per model)", retracted)
	}
}

// lab is a pipeline on the simulated chain, its poller and one worker running until the
// test ends, under modelRules, with Lazarus (the chain's first key) watched and Binance 14
// labelled an exchange; alerts go through the real alerting pipeline to a webhook
// receiver.
type lab struct {
	chain    *devnet.Chain
	src      *ethereum.Source
	q        *queue.Redis
	store    *taint.Redis
	recv     *hookReceiver
	exchange common.Address
	lists    *watchlist.Lists
	rdb      redis.UniversalClient
	prefix   string
	worker   *Worker // once started
}

func newLab(t *testing.T, options ...func(*WorkerOptions)) *lab {
	t.Helper()
	l := newIdleLab(t)
	l.start(t, modelRules(), options...)
	return l
}

// newIdleLab is a lab whose pipeline is not started yet: contracts can be deployed and
// labelled first.
func newIdleLab(t *testing.T) *lab {
	t.Helper()
	return newIdleLabTraced(t, false)
}

// newIdleLabTraced is newIdleLab on a chain that serves call traces, read when traced.
func newIdleLabTraced(t *testing.T, traced bool) *lab {
	t.Helper()
	rdb, prefix := redistest.New(t)
	c, src := devChainTraced(t, traced)
	l := &lab{chain: c, src: src, q: queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix}),
		store: taint.NewRedis(rdb, prefix), recv: &hookReceiver{},
		exchange: common.HexToAddress("0x28C6c06298d514Db089934071355E5743bf21d60"),
		lists:    watchlist.New(), rdb: rdb, prefix: prefix}
	l.lists.AddSource("dev", addr(c.Addrs[0]), rules.Source{Entity: "Lazarus Group",
		Category: "sanctioned", List: "test"})
	l.lists.AddLabel("dev", addr(l.exchange), rules.Label{Entity: "Binance 14",
		Category: "exchange", List: "test"})
	return l
}

// start runs the lab's pipeline under rs until the test ends.
func (l *lab) start(t *testing.T, rs []rules.Rule, options ...func(*WorkerOptions)) {
	t.Helper()
	l.worker = startPipeline(t, l.src, l.q, l.store, l.lists, rs,
		hookPipeline(t, l.recv, l.rdb, l.prefix), "dev", 1, options...)
}

// send pays v from k's account to `to` in a block of its own, and returns the transaction.
func (l *lab) send(t *testing.T, k *ecdsaKey, to common.Address, v *big.Int) common.Hash {
	t.Helper()
	r, err := l.chain.Transfer(context.Background(), k, to, v)
	if err != nil || r.Status != 1 {
		t.Fatalf("transfer: %v", err)
	}
	return r.TxHash
}

// deploy deploys ct from key's account and returns its address.
func (l *lab) deploy(t *testing.T, key *ecdsaKey, ct *devnet.Contract,
	args ...any) common.Address {
	t.Helper()
	a, err := l.chain.Deploy(context.Background(), key, ct, args...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// call calls method on the contract ct at `to` from k's account with value (nil: none),
// and wants it to succeed.
func (l *lab) call(t *testing.T, k *ecdsaKey, to common.Address, ct *devnet.Contract,
	value *big.Int, method string, args ...any) {
	t.Helper()
	r, err := l.chain.Call(context.Background(), k, to, ct, value, method, args...)
	if err != nil || r.Status != 1 {
		t.Fatalf("%s: %v", method, err)
	}
}

// head is the chain's head block.
func (l *lab) head(t *testing.T) chains.BlockRef {
	t.Helper()
	ctx := context.Background()
	n, err := l.src.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := l.src.Ref(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// labKey is a key made from seed, and its address.
func labKey(seed string) (*ecdsaKey, common.Address) {
	k := crypto.ToECDSAUnsafe(crypto.Keccak256([]byte(seed)))
	return k, crypto.PubkeyToAddress(k.PublicKey)
}

// modelRules are three rules alerting on funds that reach an exchange within 3 hops, one
// per taint model, each named after its model.
func modelRules() []rules.Rule {
	var rs []rules.Rule
	for _, model := range []string{rules.ModelPoison, rules.ModelHaircut, rules.ModelFIFO} {
		rs = append(rs, rules.Rule{Name: model, Severity: "high",
			Destinations: []string{"exchange"}, MaxHops: 3, Model: model})
	}
	return rs
}

// amountSummaries returns per alert "<rule> <state> <amount> <tainted> | <hops>", amounts
// in coins of decimals base units, "all" when the whole amount is tainted, sorted.
func amountSummaries(as []alerting.Alert, decimals int) []string {
	coins := func(units string) string {
		n, _ := new(big.Int).SetString(units, 10)
		r := new(big.Rat).SetFrac(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil))
		return strings.TrimSuffix(strings.TrimRight(r.FloatString(decimals), "0"), ".")
	}
	tainted := func(amount, tainted string) string {
		if tainted == "" {
			return coins(amount) + " all"
		}
		return coins(amount) + " " + coins(tainted)
	}
	var out []string
	for _, a := range as {
		var hops []string
		for _, h := range a.Path {
			hops = append(hops, tainted(h.Amount, h.TaintedAmount))
		}
		out = append(out, fmt.Sprintf("%s %s %s | %s", a.Rule, a.State,
			tainted(a.Amount, a.TaintedAmount), strings.Join(hops, ", ")))
	}
	sort.Strings(out)
	return out
}

// holdingString is a stored taint's native holding in ETH: "tainted/balance" (haircut),
// the lots (FIFO, "10t+60c"), or "all" (poison).
func holdingString(t rules.Taint) string {
	ethOf := func(n *big.Int) string {
		return new(big.Rat).SetFrac(n, big.NewInt(1e18)).RatString()
	}
	for _, h := range t.Holdings {
		if h.Lots != nil || h.Balance == nil {
			var ls []string
			for _, l := range h.Lots {
				kind := "c"
				if l.Tainted {
					kind = "t"
				}
				ls = append(ls, ethOf(l.Amount)+kind)
			}
			return strings.Join(ls, "+")
		}
		return ethOf(h.Tainted) + "/" + ethOf(h.Balance)
	}
	return "all"
}

// hookPipeline is the alerting pipeline of the end-to-end tests: the alert log in Redis
// (which drops what it logged before), then straight to a signed webhook to recv with
// retries. (flowwatch run puts the dispatcher between them: see the cmd tests.)
func hookPipeline(t *testing.T, recv *hookReceiver, rdb redis.UniversalClient,
	prefix string) alerting.Stage {
	t.Helper()
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	hook, err := webhook.New(webhook.Config{URL: srv.URL, Secret: string(hookSecret)}, nil,
		nil)
	if err != nil {
		t.Fatal(err)
	}
	return alerting.Sequence{
		alerting.JournalStage{Journal: alerting.NewRedisJournal(rdb, prefix, nil)},
		&alerting.Retry{Name: "webhook", Notifier: hook, Min: time.Millisecond}}
}
