package watcher

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil/v2"
	"github.com/btcsuite/btcd/chainhash/v2"

	"github.com/flowwatch/flowwatch/chains/bitcoin/simnet"
	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/queue"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

// TestPipelinePeelChain plays a peel chain on a real btcd node in simnet through the real
// pipeline: a ransom of 10 BTC paid to a watched address is peeled three times, 1 BTC to a
// fresh address each time and the rest onward. The peel-chain rule (3 peels) alerts once,
// on the third, with the three peels as its path. The look-alike: a clean wallet peels the
// same way, and the watched run's fourth peel, go unremarked.
func TestPipelinePeelChain(t *testing.T) {
	ctx := context.Background()
	node := simnet.Start(t)
	rdb, prefix := redistest.New(t)
	src := dialSimnet(t, node)
	watched, clean := newBTCKey(t), newBTCKey(t)
	lists := watchlist.New()
	lists.AddSource("bitcoin", watched.Addr.EncodeAddress(), rules.Source{Entity: "Andariel",
		Category: "ransomware", List: "test"})
	recv := &hookReceiver{}
	q := queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix})
	head, err := src.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	startPipeline(t, src, q, taint.NewRedis(rdb, prefix), lists, []rules.Rule{{Name: "peel",
		Severity: "high", Pattern: rules.PatternPeel, Count: 3}},
		hookPipeline(t, recv, rdb, prefix), "bitcoin", head+1)

	const btc, fee = btcutil.SatoshiPerBitcoin, 10_000
	// peels spends value at prev:0, paid to from, in n peels of 1 BTC; it returns the
	// peels' addresses.
	peels := func(from simnet.Key, prev *chainhash.Hash, value int64, n int) []string {
		var out []string
		index := uint32(0)
		for range n {
			peel, rest := newBTCKey(t), newBTCKey(t)
			value -= btc + fee
			h, err := node.Spend(from, prev, index, value+btc+fee,
				simnet.Pay{To: peel.Addr, Amount: btc}, simnet.Pay{To: rest.Addr, Amount: value})
			if err != nil {
				t.Fatal(err)
			}
			mine(t, node, 1)
			out = append(out, peel.Addr.EncodeAddress())
			from, prev, index = rest, h, 1
		}
		return out
	}
	ransom := payTo(t, node, watched.Addr, 10*btc)
	cleanCoins := payTo(t, node, clean.Addr, 10*btc)
	mine(t, node, 1)
	peeled := peels(watched, ransom, 10*btc, 4)
	peels(clean, cleanCoins, 10*btc, 3)
	waitSettled(t, src, q, "bitcoin")

	got := recv.alerts()
	if len(got) != 1 {
		t.Fatalf("%d alerts, want 1: %+v", len(got), got)
	}
	al := got[0]
	var to []string
	for _, h := range al.Path {
		to = append(to, h.To)
	}
	want := strings.Join(peeled[:3], ",")
	if al.Rule != "peel" || al.Destination.Category != "peel_chain" ||
		al.Destination.Entity != "peel chain of 3" || al.Position != "vout:0" ||
		al.Amount != fmt.Sprint(int64(btc)) || strings.Join(to, ",") != want ||
		al.Source.Address != watched.Addr.EncodeAddress() {
		t.Fatalf("alert %+v\nwant the peels %s", al, want)
	}
}
