package watcher

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/queue"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

// TestRegisteredDepositAddress: on the simulated chain with real Redis, an exchange
// registers a deposit address while the pipeline runs (after the worker has seen the
// address hold nothing); watched funds arriving there alert naming the customer; funds
// from a clean wallet do not.
func TestRegisteredDepositAddress(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	c, src := devChain(t)
	lists := watchlist.New()
	lists.AddSource("dev", addr(c.Addrs[0]), rules.Source{Entity: "Lazarus Group",
		Category: "sanctioned", List: "test"})
	reg := deposit.NewRegistry(rdb, prefix)
	rs := []rules.Rule{{Name: "tainted-deposit", Severity: "high",
		Destinations: []string{"exchange_deposit"}, MaxHops: 3}}
	recv := &hookReceiver{}
	q := queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix})
	startPipeline(t, src, q, taint.NewRedis(rdb, prefix),
		&WithRegistry{Lists: lists, Registry: reg}, rs, hookPipeline(t, recv, rdb, prefix),
		"dev", 1)

	k := crypto.ToECDSAUnsafe(crypto.Keccak256([]byte("customer deposit")))
	dep := crypto.PubkeyToAddress(k.PublicKey)
	send := func(from int, to common.Address) {
		t.Helper()
		if r, err := c.Transfer(ctx, c.Keys[from], to, eth(2)); err != nil || r.Status != 1 {
			t.Fatalf("transfer: %v", err)
		}
	}
	send(3, dep) // a clean deposit before registration: the worker sees dep hold nothing
	waitSettled(t, src, q, "dev")
	err := reg.Put(ctx, deposit.Registration{Chain: "dev", Address: addr(dep),
		Customer: "cust-4711", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	send(3, dep) // clean again: no alert
	send(0, dep) // from Lazarus: alerts
	got := recv.waitFor(t, 1)
	waitSettled(t, src, q, "dev")
	if got = recv.summaries(); len(got) != 1 ||
		!strings.Contains(got[0], "registered deposit address (customer cust-4711)") {
		t.Fatalf("notifications %q", got)
	}
}
