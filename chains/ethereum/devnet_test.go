package ethereum

import (
	"context"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
)

func startChain(t *testing.T, tracers bool) *devnet.Chain {
	t.Helper()
	c, err := devnet.Start(devnet.Options{Tracers: tracers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// wantStatus returns a check for a sent transaction's receipt: it must exist and have the
// given status.
func wantStatus(t *testing.T, status uint64) func(*types.Receipt, error) *types.Receipt {
	return func(r *types.Receipt, err error) *types.Receipt {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != status {
			t.Fatalf("tx %s has status %d, want %d", r.TxHash, r.Status, status)
		}
		return r
	}
}

func lower(a common.Address) string { return strings.ToLower(a.Hex()) }

func eth(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }

// summary is "<position> <kind> <flow>" for a movement, to compare with expectations.
func summary(m chains.Movement) string {
	return m.Position + " " + string(m.Kind) + " " + movementFlow(m)
}

func headMovements(t *testing.T, c *devnet.Chain, mode TraceMode) (*Source, []chains.Movement) {
	t.Helper()
	s := testSource(t, c.URL, mode)
	head, err := s.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s, extractRange(t, s, 1, head)
}

// TestSimulatedChain plays ETH transfers, an ERC-20 deployed and moved, and two failed
// transactions on go-ethereum's simulated backend, read over HTTP JSON-RPC.
func TestSimulatedChain(t *testing.T) {
	ctx := context.Background()
	c := startChain(t, false)
	ok, failed := wantStatus(t, 1), wantStatus(t, 0)
	a, b, d := c.Keys[0], c.Addrs[1], c.Addrs[2]

	r1 := ok(c.Transfer(ctx, a, b, eth(3)))
	r2 := ok(c.Transfer(ctx, c.Keys[1], d, eth(1)))
	token, err := c.Deploy(ctx, a, devnet.Token, "Lazarus Dollar", "LZD", big.NewInt(1e12))
	if err != nil {
		t.Fatal(err)
	}
	r3 := ok(c.Call(ctx, a, token, devnet.Token, nil, "transfer", b, big.NewInt(5000)))
	rejecter, err := c.Deploy(ctx, a, devnet.Rejecter)
	if err != nil {
		t.Fatal(err)
	}
	// Failed: a token transfer beyond the balance, and ether sent to a contract that
	// rejects it. Neither may produce a movement.
	f1 := failed(c.Send(ctx, devnet.Tx{Key: c.Keys[2], To: &token,
		Data: devnet.Token.Pack("transfer", b, big.NewInt(1)), Gas: 100_000}))
	f2 := failed(c.Send(ctx, devnet.Tx{Key: a, To: &rejecter, Value: eth(7),
		Gas: 100_000}))

	s, ms := headMovements(t, c, TracesAuto)
	var got []string
	for _, m := range ms {
		got = append(got, summary(m))
	}
	tokenAddr := lower(token)
	zero := "0x0000000000000000000000000000000000000000"
	deployTx := ""
	for _, m := range ms {
		if m.Kind == chains.KindToken && m.Inputs[0].Address == zero {
			deployTx = m.Tx
		}
	}
	want := []string{
		"tx native " + flow(r1.TxHash.Hex(), lower(c.Addrs[0]), lower(b), "native",
			eth(3).String()),
		"tx native " + flow(r2.TxHash.Hex(), lower(b), lower(d), "native", eth(1).String()),
		"log:0 token " + flow(deployTx, zero, lower(c.Addrs[0]), tokenAddr, "1000000000000"),
		"log:0 token " + flow(r3.TxHash.Hex(), lower(c.Addrs[0]), lower(b), tokenAddr, "5000"),
	}
	if len(got) != len(want) {
		t.Fatalf("got %d movements, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("movement %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
	for _, m := range ms {
		if m.Tx == lowerHash(f1.TxHash) || m.Tx == lowerHash(f2.TxHash) {
			t.Errorf("failed tx produced %s", summary(m))
		}
	}
	if s.TracesUsed() {
		t.Error("the simulated backend has no debug API, but the source still asks for traces")
	}
	checkLinked(t, s, ms)
}

func lowerHash(h common.Hash) string { return strings.ToLower(h.Hex()) }

// checkLinked checks block references against the node: hashes, parents and times.
func checkLinked(t *testing.T, s *Source, ms []chains.Movement) {
	t.Helper()
	for _, m := range ms {
		b, err := s.Block(context.Background(), m.Block.Number)
		if err != nil {
			t.Fatal(err)
		}
		if b.Ref != m.Block {
			t.Fatalf("block ref %+v, refetched %+v", m.Block, b.Ref)
		}
		if ref, err := s.Ref(context.Background(), m.Block.Number); err != nil || ref != b.Ref {
			t.Fatalf("Ref %+v, %v; want %+v", ref, err, b.Ref)
		}
		if b.Ref.Number > 1 {
			p, err := s.Block(context.Background(), b.Ref.Number-1)
			if err != nil {
				t.Fatal(err)
			}
			if p.Ref.Hash != b.Ref.ParentHash || p.Ref.Time.After(b.Ref.Time) {
				t.Fatalf("block %d does not follow block %d", b.Ref.Number, p.Ref.Number)
			}
		}
	}
}

// TestInternalTransfers plays contracts that move ether on through internal calls, on a
// dev node that serves callTracer traces: plain forwards, a split, an inner transfer that
// a reverted frame undid (must produce only the outer native transfer), and a transaction
// that failed as a whole (must produce nothing).
func TestInternalTransfers(t *testing.T) {
	ctx := context.Background()
	c := startChain(t, true)
	ok, failed := wantStatus(t, 1), wantStatus(t, 0)
	a, b, d := c.Keys[0], c.Addrs[1], c.Addrs[2]
	fwd, err := c.Deploy(ctx, a, devnet.Forwarder)
	if err != nil {
		t.Fatal(err)
	}
	rejecter, err := c.Deploy(ctx, a, devnet.Rejecter)
	if err != nil {
		t.Fatal(err)
	}
	r1 := ok(c.Call(ctx, a, fwd, devnet.Forwarder, eth(2), "forward", b))
	r2 := ok(c.Call(ctx, a, fwd, devnet.Forwarder, big.NewInt(1001), "split", b, d))
	r3 := ok(c.Call(ctx, a, fwd, devnet.Forwarder, eth(1), "tryForward", b))
	f1 := failed(c.Call(ctx, a, fwd, devnet.Forwarder, eth(4), "forward", rejecter))

	t.Run("genesis with traces on", func(t *testing.T) {
		b, err := testSource(t, c.URL, TracesOn).Block(ctx, 0)
		if err != nil || b.Ref.Number != 0 || len(b.Movements) != 0 {
			t.Fatalf("block 0: %+v, %v", b, err)
		}
	})
	for _, mode := range []TraceMode{TracesAuto, TracesOn} {
		t.Run(string(mode), func(t *testing.T) {
			s, ms := headMovements(t, c, mode)
			var got []string
			for _, m := range ms {
				if m.Tx == lowerHash(f1.TxHash) {
					t.Errorf("failed tx produced %s", summary(m))
				}
				got = append(got, summary(m))
			}
			from, f := lower(c.Addrs[0]), lower(fwd)
			want := []string{
				"tx native " + flow(r1.TxHash.Hex(), from, f, "native", eth(2).String()),
				"trace:0 internal " + flow(r1.TxHash.Hex(), f, lower(b), "native",
					eth(2).String()),
				"tx native " + flow(r2.TxHash.Hex(), from, f, "native", "1001"),
				"trace:0 internal " + flow(r2.TxHash.Hex(), f, lower(b), "native", "500"),
				"trace:1 internal " + flow(r2.TxHash.Hex(), f, lower(d), "native", "501"),
				"tx native " + flow(r3.TxHash.Hex(), from, f, "native", eth(1).String()),
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if !s.TracesUsed() {
				t.Error("traces were not used on a node that has them")
			}
		})
	}
}
