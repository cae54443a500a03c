package replay

import (
	"context"
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/flowwatch/flowwatch/chains/ethereum"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

func addr(a common.Address) string { return strings.ToLower(a.Hex()) }

// tokenLaundering plays stolen tokens moving on a dev chain: the source A pays B, which
// pays the exchange C in the same block (a later log); B pays a fresh D, which pays C in
// the same block; A pays E, which keeps it; unrelated accounts trade throughout. It
// returns the chain, the lists (C labelled an exchange) and A.
func tokenLaundering(t *testing.T) (*devnet.Chain, *watchlist.Lists, string) {
	t.Helper()
	ctx := context.Background()
	c, err := devnet.Start(devnet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	token, err := c.Deploy(ctx, c.Keys[0], devnet.Token, "Stolen", "STL", big.NewInt(1e9))
	if err != nil {
		t.Fatal(err)
	}
	send := func(from int, to common.Address, n int64) {
		data := devnet.Token.Pack("transfer", to, big.NewInt(n))
		if _, err := c.Submit(ctx, devnet.Tx{Key: c.Keys[from], To: &token,
			Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	const a, b, x, d, e = 1, 2, 5, 4, 6
	ex := c.Addrs[3]
	send(0, c.Addrs[a], 100_000)
	send(0, c.Addrs[x], 100_000)
	c.Commit()
	for range 3 { // unrelated trades
		send(x, c.Addrs[7], 10)
		c.Commit()
	}
	send(a, c.Addrs[b], 1000)
	send(b, ex, 500) // B passes half on in the same block
	send(x, c.Addrs[7], 10)
	c.Commit()
	send(b, c.Addrs[d], 300)
	send(d, ex, 300)
	c.Commit()
	send(x, c.Addrs[7], 10)
	c.Commit()
	send(a, c.Addrs[e], 50)
	send(7, c.Addrs[a], 5) // clean value into the source's address
	c.Commit()
	lists := watchlist.New()
	lists.AddLabel("ethereum", addr(ex), rules.Label{Category: rules.CategoryExchange,
		Entity: "Test Exchange", List: "test"})
	return c, lists, addr(c.Addrs[a])
}

// replayByBoth replays blocks 1..head of src from source under model, by scanning and by
// other (made for the model), fails unless both give the same report, and returns it.
func replayByBoth(t *testing.T, lists Lists, src *ethereum.Source, source string,
	model string, other func(receivers bool) History) *Report {
	t.Helper()
	ctx := context.Background()
	head, err := src.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	replayWith := func(h History) *Report {
		r, err := New(lists, Options{Chain: "ethereum", Sources: []string{source},
			From: 1, To: head, Model: model})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Replay(ctx, 1, head, r); err != nil {
			t.Fatal(err)
		}
		return r.Report()
	}
	scan := replayWith(&Scan{Source: src})
	want, _ := json.MarshalIndent(scan, "", " ")
	got, _ := json.MarshalIndent(replayWith(other(model != rules.ModelPoison)), "", " ")
	if string(got) != string(want) {
		t.Fatalf("by queries:\n%s\nby the scan:\n%s", got, want)
	}
	return scan
}

// TestLogsMatchesScan: following token funds by topic-filtered log queries finds the same
// hops and totals as scanning every block, under each model, also where funds move on in
// the same block they arrived.
func TestLogsMatchesScan(t *testing.T) {
	c, lists, source := tokenLaundering(t)
	src, err := ethereum.Dial(context.Background(), c.URL,
		ethereum.Options{Traces: ethereum.TracesOff})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, model := range []string{rules.ModelPoison, rules.ModelHaircut, rules.ModelFIFO} {
		t.Run(model, func(t *testing.T) {
			scan := replayByBoth(t, lists, src, source, model, func(receivers bool) History {
				return &Logs{Node: src, Receivers: receivers}
			})
			if len(scan.Edges) != 5 || len(scan.Totals) != 1 {
				t.Fatalf("%d edges, %d totals, want 5 and 1", len(scan.Edges),
					len(scan.Totals))
			}
			if model == rules.ModelPoison && scan.Totals[0].Tainted != "800" {
				t.Fatalf("the exchange got %s, want 800", scan.Totals[0].Tainted)
			}
		})
	}
}
