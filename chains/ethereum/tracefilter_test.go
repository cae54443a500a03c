package ethereum

import (
	"context"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/ethereum/anviltest"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/chains/internal/fakerpc"
)

// TestTraceTransfers plays, on Anvil, payments that exercise what the traces decide: a
// plain transfer, internal transfers through a forwarder (one and two), an internal
// transfer undone by its caller's revert inside a successful transaction, a failed
// transaction, a payment in; and checks that trace_filter (with each transaction traced
// whole) finds exactly the transfers that block extraction (debug traces) finds for the
// same addresses, in the same order, with the same blocks and times.
func TestTraceTransfers(t *testing.T) {
	ctx := context.Background()
	node := anviltest.Start(t)
	a, b, c, d, e := anviltest.Addr(1), anviltest.Addr(2), anviltest.Addr(3),
		anviltest.Addr(4), anviltest.Addr(5)
	node.Fund(t, a, d)
	fwd := node.Deploy(t, node.Funder, devnet.Forwarder)
	rej := node.Deploy(t, node.Funder, devnet.Rejecter)
	wei := func(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }
	node.Send(t, a, &b, wei(5), nil)
	node.Send(t, a, &fwd, wei(3), devnet.Forwarder.Pack("forward", c))
	node.Send(t, a, &fwd, wei(2), devnet.Forwarder.Pack("split", b, c))
	node.Send(t, a, &fwd, wei(1), devnet.Forwarder.Pack("tryForward", c))
	if r := node.Send(t, a, &rej, wei(1), nil); r.Status != 0 {
		t.Fatal("the payment to the rejecter succeeded")
	}
	node.Send(t, d, &a, wei(7), nil)
	node.Send(t, node.Funder, &e, wei(1), nil) // unrelated
	src, err := Dial(ctx, node.URL, Options{Traces: TracesOn})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	head, err := src.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	senders := []string{lower(a), lower(fwd)}
	got, err := src.TraceTransfers(ctx, 1, head, senders, []string{lower(a)})
	if err != nil {
		t.Fatal(err)
	}
	want := extracted(t, src, head, []chains.Kind{chains.KindNative, chains.KindInternal},
		senders, []string{lower(a)})
	// A is funded; A pays B; A pays the forwarder, which pays C; A pays it, which pays B
	// and C; A pays it (tryForward: its inner transfer is undone); D pays A.
	if len(want) != 9 {
		t.Fatalf("block extraction found %d transfers, want 9:\n%s", len(want),
			transfersOf(want))
	}
	if transfersOf(got) != transfersOf(want) {
		t.Fatalf("trace_filter:\n%s\nblock extraction:\n%s", transfersOf(got),
			transfersOf(want))
	}
	for i := range got {
		g, w := got[i].Block, want[i].Block // the parent is not known from a trace
		if got[i].Tx != want[i].Tx || g.Number != w.Number || g.Hash != w.Hash ||
			!g.Time.Equal(w.Time) ||
			got[i].TxIndex != want[i].TxIndex || got[i].Kind != want[i].Kind {
			t.Errorf("%d: %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// TestTraceTransfersWithoutTraceFilter: geth has no trace_filter; the error says so, for
// the caller to scan instead.
func TestTraceTransfersWithoutTraceFilter(t *testing.T) {
	ctx := context.Background()
	c := startChain(t, false)
	src, err := Dial(ctx, c.URL, Options{Traces: TracesOff})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	_, err = src.TraceTransfers(ctx, 0, 0, []string{lower(common.Address{1})}, nil)
	if !errors.Is(err, ErrNoTraceFilter) {
		t.Fatalf("err %v, want ErrNoTraceFilter", err)
	}
}

// TestFailoverTraceTransfers: through a failover of two Anvil endpoints whose first is
// down, the second's traces answer; through one of two endpoints without trace_filter,
// the error is still ErrNoTraceFilter, which a caller branches on.
func TestFailoverTraceTransfers(t *testing.T) {
	ctx := context.Background()
	node := anviltest.Start(t)
	a, b := anviltest.Addr(1), anviltest.Addr(2)
	node.Fund(t, a)
	node.Send(t, a, &b, big.NewInt(1e18), nil)
	direct, err := Dial(ctx, node.URL, Options{Traces: TracesOn})
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	head, err := direct.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	receivers := []string{lower(b)}
	want, err := direct.TraceTransfers(ctx, 1, head, nil, receivers)
	if err != nil || len(want) != 1 {
		t.Fatalf("direct: %d transfers (%v), want 1", len(want), err)
	}
	down, _ := rangeLimiter(t, node.URL, 1<<30)
	for range 20 {
		down.Inject(fakerpc.Status(503, 0))
	}
	got, err := failoverOf(t, down.URL, node.URL).TraceTransfers(ctx, 1, head, nil, receivers)
	if err != nil || transfersOf(got) != transfersOf(want) {
		t.Fatalf("first endpoint down: %v\ngot:\n%s\nwant:\n%s", err, transfersOf(got),
			transfersOf(want))
	}
	c := startChain(t, false)
	_, err = failoverOf(t, c.URL, c.URL).TraceTransfers(ctx, 0, 0, nil, receivers)
	if !errors.Is(err, ErrNoTraceFilter) {
		t.Fatalf("without trace_filter: %v, want ErrNoTraceFilter", err)
	}
}

func FuzzDecodeParityTraces(f *testing.F) {
	f.Add([]byte(`[{"action":{"from":"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",` +
		`"callType":"call","gas":"0x0","input":"0x","to":` +
		`"0x70997970c51812dc3a010c7d01b50e0d17dc79c8","value":"0x1000"},"blockHash":` +
		`"0x53ceafe325ec34166f8509caf86e76427304aca59c8fa38908b8dc1b4097e86c","blockNumber":1,` +
		`"result":{"gasUsed":"0x0","output":"0x"},"subtraces":0,"traceAddress":[],` +
		`"transactionHash":"0xc447a3f356a98d8308b561eaaa569aa99af754b798ba759e7948ecbcd72e5790",` +
		`"transactionPosition":0,"type":"call"}]`))
	f.Add([]byte(`[{"type":"reward","action":{"author":"0x01"},"blockNumber":5}]`))
	f.Add([]byte(`[{"type":"suicide","traceAddress":[0,-1]}]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ts, err := decodeParityTraces(raw)
		if err != nil {
			return
		}
		for i := range ts {
			if ts[i].TxHash == nil || ts[i].BlockNumber == nil || ts[i].TxPosition == nil {
				t.Fatalf("trace %d accepted without its transaction, block or position", i)
			}
			_, _, _ = traceMovement(&ts[i], ts)
		}
	})
}
