package watcher

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"

	btcaddr "github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/btcutil/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/integration/rpctest"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"go.uber.org/zap/zaptest"

	"github.com/flowwatch/flowwatch/alerting"
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

// spend pays all of from's output (prev, index), worth value, less a fee, to to.
func spend(t *testing.T, node *simnet.Node, from simnet.Key, prev *chainhash.Hash,
	index uint32, value int64, to btcaddr.Address) *chainhash.Hash {
	t.Helper()
	h, err := node.Spend(from, prev, index, value, simnet.Pay{To: to, Amount: value - 10_000})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// payTo has the node's wallet pay amount to to, as output 0 of a transaction without change.
func payTo(t *testing.T, node *simnet.Node, to btcaddr.Address, amount int64) *chainhash.Hash {
	t.Helper()
	script, err := txscript.PayToAddrScript(to)
	if err != nil {
		t.Fatal(err)
	}
	h, err := node.SendOutputsWithoutChange([]*wire.TxOut{wire.NewTxOut(amount, script)},
		btcutil.Amount(10))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// dialSimnet is a Bitcoin source on node, closed when the test ends.
func dialSimnet(t *testing.T, node *simnet.Node) *bitcoin.Source {
	t.Helper()
	src, err := bitcoin.Dial(context.Background(), node.URL(), bitcoin.Options{
		Network: "simnet", Certificates: node.Certificates(), Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	return src
}

// ransomLists returns an exchange's address in node's wallet, and lists naming it and
// watched (Andariel's ransom address).
func ransomLists(t *testing.T, node *simnet.Node, watched simnet.Key) (btcaddr.Address,
	*watchlist.Lists) {
	t.Helper()
	exchange, err := node.NewAddress()
	if err != nil {
		t.Fatal(err)
	}
	lists := watchlist.New()
	lists.AddSource("bitcoin", watched.Addr.EncodeAddress(), rules.Source{Entity: "Andariel",
		Category: "ransomware", List: "test"})
	lists.AddLabel("bitcoin", exchange.EncodeAddress(), rules.Label{Entity: "Exchange X",
		Category: "exchange"})
	return exchange, lists
}

func mine(t *testing.T, node *simnet.Node, n uint32) {
	t.Helper()
	if _, err := node.Client.Generate(n); err != nil {
		t.Fatal(err)
	}
}

// TestPipelineBitcoin plays, on real btcd nodes in simnet with real Redis, a ransom paid to
// a watched address, mixed with clean coins and moved through a fresh address to an
// exchange, under poison, haircut and FIFO at once: each alert with its tainted amount
// worked out by hand and the path of its hops, naming the outputs. Then a second node, cut
// off, mines a longer branch without those hops; when they reconnect the first node
// reorganizes: every alert is retracted once and the fresh output's taint undone under
// every model.
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
	src := dialSimnet(t, a)

	watched, clean, fresh := newBTCKey(t), newBTCKey(t), newBTCKey(t)
	exchange, lists := ransomLists(t, a, watched)
	rs := modelRules()
	recv := &hookReceiver{}
	pipeline := hookPipeline(t, recv, rdb, prefix)
	q := queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix})
	store := taint.NewRedis(rdb, prefix)
	head, err := src.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	startPipeline(t, src, q, store, lists, rs, pipeline, "bitcoin", head+1)

	// The ransom: the wallet pays 10 BTC to the watched address, and 30 to a clean key of
	// ours. Both nodes have them.
	const btc = btcutil.SatoshiPerBitcoin
	ransomTx := payTo(t, a, watched.Addr, 10*btc)
	cleanTx := payTo(t, a, clean.Addr, 30*btc)
	mine(t, a, 1)
	if err := rpctest.JoinNodes([]*rpctest.Harness{a.Harness, b.Harness},
		rpctest.Blocks); err != nil {
		t.Fatal(err)
	}
	// Cut b off; a mines the two hops: the ransom and the clean coins together pay the
	// exchange 20 and a fresh address the rest; the fresh address pays the exchange.
	if err := a.Client.AddNode(b.P2PAddress(), rpcclient.ANRemove); err != nil {
		t.Fatal(err)
	}
	if err := a.Client.Node(btcjson.NDisconnect, b.P2PAddress(), nil); err != nil &&
		!strings.Contains(err.Error(), "not found") {
		t.Fatal(err)
	}
	const fee = 10_000
	hop1, err := a.SpendAll([]simnet.Input{
		{Key: watched, PrevTx: ransomTx, Value: 10 * btc},
		{Key: clean, PrevTx: cleanTx, Value: 30 * btc}},
		simnet.Pay{To: exchange, Amount: 20 * btc},
		simnet.Pay{To: fresh.Addr, Amount: 20*btc - fee})
	if err != nil {
		t.Fatal(err)
	}
	mine(t, a, 1)
	hop2 := spend(t, a, fresh, hop1, 1, 20*btc-fee, exchange)
	mine(t, a, 1)
	// By hand: the inputs are [10 tainted, 30 clean]. Poison: every output all tainted.
	// Haircut: a quarter of each: 5 of the exchange's 20, 4.999975 of the fresh 19.9999,
	// then 19.9998 × 4.999975 / 19.9999 = 4.99995. FIFO: the exchange's 20 takes the 10
	// tainted and 10 clean; the fresh output is clean, so its payment does not alert.
	want := []string{
		"fifo confirmed 20 10 | 20 10",
		"haircut confirmed 19.9998 4.99995 | 19.9999 4.999975, 19.9998 4.99995",
		"haircut confirmed 20 5 | 20 5",
		"poison confirmed 19.9998 all | 19.9999 all, 19.9998 all",
		"poison confirmed 20 all | 20 all",
	}
	recv.waitFor(t, len(want))
	if got := amountSummaries(recv.alerts(), 8); strings.Join(got, "\n") !=
		strings.Join(want, "\n") {
		t.Fatalf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, al := range recv.alerts() {
		if al.Tx == hop2.String() && (al.Position != "vout:0" ||
			al.Path[0].Tx != hop1.String() || al.Path[0].Position != "vout:1" ||
			al.Source.Address != watched.Addr.EncodeAddress()) {
			t.Fatalf("alert %+v", al)
		}
	}
	freshOut := rules.OutpointKey(hop1.String(), 1)
	keys := []string{freshOut, rules.ModelKey(rules.ModelHaircut, freshOut),
		rules.ModelKey(rules.ModelFIFO, freshOut)}
	if ts, _ := store.Taints(ctx, "bitcoin", keys...); len(ts) != 2 {
		t.Fatalf("the fresh output is tainted under %d models, want 2 (not FIFO)", len(ts))
	}
	// The fresh address's record, for screening: the output it received, per model.
	addrKeys := []string{rules.ReceivedKey(rules.ModelPoison, fresh.Addr.EncodeAddress()),
		rules.ReceivedKey(rules.ModelHaircut, fresh.Addr.EncodeAddress()),
		rules.ReceivedKey(rules.ModelFIFO, fresh.Addr.EncodeAddress())}
	ts, _ := store.Taints(ctx, "bitcoin", addrKeys...)
	if h, ok := ts[addrKeys[1]]; len(ts) != 2 || !ok || h.Amount.Int64() != 499997500 ||
		h.Path[0].Tx != hop1.String() {
		t.Fatalf("the fresh address's records: %+v, want poison and haircut (4.999975)", ts)
	}
	keys = append(keys, addrKeys...)

	// b mines a longer branch; reconnected, a follows it.
	mine(t, b, 3)
	if err := rpctest.ConnectNode(a.Harness, b.Harness); err != nil {
		t.Fatal(err)
	}
	if err := rpctest.JoinNodes([]*rpctest.Harness{a.Harness, b.Harness},
		rpctest.Blocks); err != nil {
		t.Fatal(err)
	}
	// Every alert is retracted, once; the hop that tainted the fresh output is undone
	// under every model.
	recv.waitFor(t, 2*len(want))
	for _, w := range slices.Clone(want) {
		want = append(want, strings.Replace(w, "confirmed", "retracted", 1))
	}
	sort.Strings(want)
	waitSettled(t, src, q, "bitcoin")
	if got := amountSummaries(recv.alerts(), 8); strings.Join(got, "\n") !=
		strings.Join(want, "\n") {
		t.Fatalf("after the reorg:\n%s\nwant:\n%s", strings.Join(got, "\n"),
			strings.Join(want, "\n"))
	}
	if ts, _ := store.Taints(ctx, "bitcoin", keys...); len(ts) != 0 {
		t.Fatalf("the orphaned hop's taint was not undone: %v", ts)
	}
}

// TestScoutBitcoin, on a real btcd node in simnet with real Redis and a poller that waits
// for two confirmations: a watched address pays an exchange; the scout raises the alert
// provisional while the block is unconfirmed (naming the output that arrived), the workers
// confirm it once the block is published, and the scout, finding it in the movement's
// record (the whole transaction's), lets it go: neither retracted nor raised again.
func TestScoutBitcoin(t *testing.T) {
	ctx := context.Background()
	a := simnet.Start(t)
	rdb, prefix := redistest.New(t)
	src := dialSimnet(t, a)
	watched := newBTCKey(t)
	exchange, lists := ransomLists(t, a, watched)
	rs := []rules.Rule{{Name: "to-exchange", Severity: "high",
		Destinations: []string{"exchange"}, MaxHops: 3}}
	j := alerting.NewRedisJournal(rdb, prefix, nil)
	stage := alerting.JournalStage{Journal: j}
	q := queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix})
	store := taint.NewRedis(rdb, prefix)
	head, err := src.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	startPipelineAfter(t, 2, src, q, store, lists, rs, stage, "bitcoin", head+1)
	scout, err := NewScout(src, q, store, lists, rs, stage, ScoutOptions{Chain: "bitcoin",
		Log: j, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	round := func() {
		t.Helper()
		if err := scout.Round(ctx); err != nil {
			t.Fatal(err)
		}
	}
	states := func() string {
		t.Helper()
		es, err := j.Entries(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, e := range es {
			s = append(s, string(e.Alert.State)+" "+e.Alert.Position)
		}
		return strings.Join(s, ", ")
	}

	const btc = btcutil.SatoshiPerBitcoin
	ransom := payTo(t, a, watched.Addr, 10*btc)
	mine(t, a, 1)
	spend(t, a, watched, ransom, 0, 10*btc, exchange)
	mine(t, a, 1)
	round()
	if got := states(); got != "provisional vout:0" {
		t.Fatalf("the payment unconfirmed: %s", got)
	}
	mine(t, a, 2)
	waitJudgedBlock(t, q, "bitcoin", head+2)
	round()
	round()
	if got := states(); got != "provisional vout:0, confirmed vout:0" {
		t.Fatalf("the payment confirmed: %s", got)
	}
	if n := len(scout.raised); n != 0 {
		t.Fatalf("%d provisional alerts still in force", n)
	}
}
