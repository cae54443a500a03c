package replay

import (
	"context"
	"math/big"
	"testing"

	"github.com/flowwatch/flowwatch/chains/ethereum"
	"github.com/flowwatch/flowwatch/chains/ethereum/anviltest"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

// TestTracesMatchesScan: on Anvil (which has trace_filter), following funds by
// trace_filter and eth_getLogs finds the same hops and totals as scanning every block
// with debug traces, under each model: ether paid on, split by a contract's internal
// calls (one of them to an exchange), tokens paid on to the exchange, clean value
// arriving at a followed address, a transfer undone by a revert.
func TestTracesMatchesScan(t *testing.T) {
	ctx := context.Background()
	node := anviltest.Start(t)
	a, b, c, d, x := anviltest.Addr(1), anviltest.Addr(2), anviltest.Addr(3),
		anviltest.Addr(4), anviltest.Addr(9)
	node.Fund(t, a, d)
	fwd := node.Deploy(t, node.Funder, devnet.Forwarder)
	token := node.Deploy(t, node.Funder, devnet.Token, "Stolen", "STL", big.NewInt(1e9))
	wei := func(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e17)) }
	node.Send(t, node.Funder, &token, nil, devnet.Token.Pack("transfer", a, big.NewInt(5000)))
	node.Send(t, a, &b, wei(30), nil)
	node.Send(t, d, &b, wei(10), nil) // clean value joins B
	node.Send(t, b, &fwd, wei(20), devnet.Forwarder.Pack("split", c, x))
	node.Send(t, b, &fwd, wei(5), devnet.Forwarder.Pack("tryForward", x))
	node.Send(t, a, &token, nil, devnet.Token.Pack("transfer", d, big.NewInt(3000)))
	node.Send(t, d, &token, nil, devnet.Token.Pack("transfer", x, big.NewInt(2500)))
	node.Send(t, c, &x, wei(9), nil)
	lists := watchlist.New()
	lists.AddLabel("ethereum", addr(x), rules.Label{Category: rules.CategoryExchange,
		Entity: "Test Exchange", List: "test"})
	src, err := ethereum.Dial(ctx, node.URL, ethereum.Options{Traces: ethereum.TracesOn})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, model := range []string{rules.ModelPoison, rules.ModelHaircut, rules.ModelFIFO} {
		t.Run(model, func(t *testing.T) {
			scan := replayByBoth(t, lists, src, addr(a), model, func(receivers bool) History {
				return &Traces{Node: src, Receivers: receivers}
			})
			// A to B, B to the forwarder twice, its split to C and X, C to X, A to D and
			// D to X in tokens; not the transfer to X that the revert undid.
			if len(scan.Edges) != 8 || len(scan.Totals) != 2 {
				t.Fatalf("%d edges and %d totals, want 8 and 2", len(scan.Edges),
					len(scan.Totals))
			}
		})
	}
}
