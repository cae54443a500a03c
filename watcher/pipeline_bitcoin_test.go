package watcher

import (
	"context"
	"strings"
	"testing"
	"time"

	btcaddr "github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/btcutil/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/integration/rpctest"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"go.uber.org/zap/zaptest"

	"github.com/flowwatch/flowwatch/chains/bitcoin"
	"github.com/flowwatch/flowwatch/chains/bitcoin/simnet"
	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/queue"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

func newBTCKey(t *testing.T) simnet.Key {
	t.Helper()
	k, err := simnet.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// spend pays all of from's output (prev, 0), worth value, less a fee, to to.
func spend(t *testing.T, node *simnet.Node, from simnet.Key, prev *chainhash.Hash, value int64,
	to btcaddr.Address) *chainhash.Hash {
	t.Helper()
	h, err := node.Spend(from, prev, 0, value, simnet.Pay{To: to, Amount: value - 10_000})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func mine(t *testing.T, node *simnet.Node, n uint32) {
	t.Helper()
	if _, err := node.Client.Generate(n); err != nil {
		t.Fatal(err)
	}
}

// TestPipelineBitcoin plays, on real btcd nodes in simnet with real Redis, a ransom paid to
// a watched address and moved through a fresh address to an exchange deposit: one alert,
// with the path of two hops, naming the output. Then a second node, cut off, mines a longer
// branch without those hops; when they reconnect the first node reorganizes: the alert is
// retracted and the fresh address's output no longer tainted.
func TestPipelineBitcoin(t *testing.T) {
	ctx := context.Background()
	a := simnet.Start(t)
	b := simnet.StartPeer(t)
	if err := rpctest.ConnectNode(a.Harness, b.Harness); err != nil {
		t.Fatal(err)
	}
	if err := rpctest.JoinNodes([]*rpctest.Harness{a.Harness, b.Harness},
		rpctest.Blocks); err != nil {
		t.Fatal(err)
	}
	rdb, prefix := redistest.New(t)
	log := zaptest.NewLogger(t)
	src, err := bitcoin.Dial(ctx, a.URL(), bitcoin.Options{Network: "simnet",
		Certificates: a.Certificates(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)

	watched, fresh := newBTCKey(t), newBTCKey(t)
	exchange, err := a.NewAddress()
	if err != nil {
		t.Fatal(err)
	}
	lists := watchlist.New()
	lists.AddSource("bitcoin", watched.Addr.EncodeAddress(), rules.Source{Entity: "Andariel",
		Category: "ransomware", List: "test"})
	lists.AddLabel("bitcoin", exchange.EncodeAddress(), rules.Label{Entity: "Exchange X",
		Category: "exchange"})
	rs := []rules.Rule{{Name: "ransom-to-exchange", Severity: "high",
		Destinations: []string{"exchange"}, MaxHops: 3}}
	recv := &hookReceiver{}
	pipeline := hookPipeline(t, recv, rdb, prefix)
	q := queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix})
	store := taint.NewRedis(rdb, prefix)
	head, err := src.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	startPipeline(t, src, q, store, lists, rs, pipeline, "bitcoin", head+1)

	// The ransom: the wallet pays 10 BTC to the watched address. Both nodes have it.
	script, err := txscript.PayToAddrScript(watched.Addr)
	if err != nil {
		t.Fatal(err)
	}
	const ransom = 10 * btcutil.SatoshiPerBitcoin
	ransomTx, err := a.SendOutputsWithoutChange([]*wire.TxOut{wire.NewTxOut(ransom, script)},
		btcutil.Amount(10))
	if err != nil {
		t.Fatal(err)
	}
	mine(t, a, 1)
	if err := rpctest.JoinNodes([]*rpctest.Harness{a.Harness, b.Harness},
		rpctest.Blocks); err != nil {
		t.Fatal(err)
	}
	// Cut b off; a mines the two hops: watched -> fresh -> exchange.
	if err := a.Client.AddNode(b.P2PAddress(), rpcclient.ANRemove); err != nil {
		t.Fatal(err)
	}
	if err := a.Client.Node(btcjson.NDisconnect, b.P2PAddress(), nil); err != nil &&
		!strings.Contains(err.Error(), "not found") {
		t.Fatal(err)
	}
	hop1 := spend(t, a, watched, ransomTx, ransom, fresh.Addr)
	mine(t, a, 1)
	hop2 := spend(t, a, fresh, hop1, ransom-10_000, exchange)
	mine(t, a, 1)
	got := recv.waitFor(t, 1)
	if want := "ransom-to-exchange confirmed 2hop Exchange X"; got[0] != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	al := recv.alerts()[0]
	if al.Tx != hop2.String() || al.Position != "vout:0" || al.Path[0].Tx != hop1.String() ||
		al.Source.Address != watched.Addr.EncodeAddress() {
		t.Fatalf("alert %+v", al)
	}
	freshOut := rules.OutpointKey(hop1.String(), 0)
	if ts, _ := store.Taints(ctx, "bitcoin", freshOut); len(ts) != 1 {
		t.Fatal("the fresh address's output is not tainted")
	}

	// b mines a longer branch; reconnected, a follows it.
	mine(t, b, 3)
	if err := rpctest.ConnectNode(a.Harness, b.Harness); err != nil {
		t.Fatal(err)
	}
	if err := rpctest.JoinNodes([]*rpctest.Harness{a.Harness, b.Harness},
		rpctest.Blocks); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(recv.summaries()) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
	got = recv.summaries()
	want := []string{"ransom-to-exchange confirmed 2hop Exchange X",
		"ransom-to-exchange retracted 2hop Exchange X"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("after the reorg:\n%s\nwant:\n%s", strings.Join(got, "\n"),
			strings.Join(want, "\n"))
	}
	// The alert is retracted first (removed movements come newest first); the hop that
	// tainted the fresh output is undone after it.
	waitSettled(t, src, q, "bitcoin")
	if ts, _ := store.Taints(ctx, "bitcoin", freshOut); len(ts) != 0 {
		t.Fatal("the orphaned hop's taint was not undone")
	}
}
