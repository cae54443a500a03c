package fanin

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"math/bits"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/ethereum"
	"github.com/flowwatch/flowwatch/chains/ethereum/anviltest"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// countingNode is the node, counting what it is asked, and failing a call when told to
// (a node's fault on demand).
type countingNode struct {
	Node
	logs, refs        atomic.Int64
	failLogs, failRef bool
	ranges            [][2]uint64 // the blocks of each TransferLogs
}

func (n *countingNode) TransferLogs(ctx context.Context, from, to uint64, senders,
	receivers []string) ([]chains.Movement, error) {
	n.logs.Add(1)
	n.ranges = append(n.ranges, [2]uint64{from, to})
	if n.failLogs {
		return nil, errors.New("connection reset")
	}
	return n.Node.TransferLogs(ctx, from, to, senders, receivers)
}

func (n *countingNode) Ref(ctx context.Context, b uint64) (chains.BlockRef, error) {
	n.refs.Add(1)
	if n.failRef {
		return chains.BlockRef{}, errors.New("connection reset")
	}
	return n.Node.Ref(ctx, b)
}

// TestSendersBack pays a pool on the simulated chain, in a token from five employers (the
// first 31 days before the others, out of the 30-day window; the second twice) and in
// ether from a sixth; the pool then pays out. A Tracker fed the chain's blocks, through the
// real node's source, finds the pool's senders with SendersBack:
//   - when it saw every transfer, without asking the node;
//   - when MaxPayments forgot them, or it started after them or has seen nothing yet, the
//     token's employers in the window, from the node's logs (the ether payers only while
//     remembered);
//   - an error of the node fails it, naming the blocks asked.
func TestSendersBack(t *testing.T) {
	ctx := context.Background()
	chain, must, token := startPool(t)
	k, pk, pool := chain.Keys, chain.poolKey, chain.pool
	token(1, pool, 100) // 31 days before the rest: out of the window
	must(chain.AdjustTime(31 * 24 * time.Hour))
	for i := 2; i <= 5; i++ {
		token(i, pool, int64(100*i))
	}
	token(2, pool, 7)
	_, err := chain.Transfer(ctx, k[6], pool, big.NewInt(1e18))
	must(err)
	_, err = chain.Transfer(ctx, k[0], pool, big.NewInt(1e18)) // gas for the pool
	must(err)
	_, err = chain.Transfer(ctx, pk, chain.Addrs[0], big.NewInt(1e17))
	must(err)
	src, payout := dialHead(t, chain.URL, ethereum.TracesOff)
	head := payout.Number
	hex := func(a common.Address) string { return strings.ToLower(a.Hex()) }

	feed := func(tr *Tracker, from uint64) {
		for n := from; n < head; n++ {
			b, err := src.Block(ctx, n)
			must(err)
			for i := range b.Movements {
				tr.Observe(&b.Movements[i], noLabels)
			}
		}
	}
	names := map[string]string{hex(chain.Addrs[1]): "e1", hex(chain.Addrs[2]): "e2",
		hex(chain.Addrs[3]): "e3", hex(chain.Addrs[4]): "e4", hex(chain.Addrs[5]): "e5",
		hex(chain.Addrs[6]): "eth6", hex(chain.Addrs[0]): "gas0"}
	// The block of the fourth employer's payment.
	var late uint64
	for n := head; n > 0 && late == 0; n-- {
		b, err := src.Block(ctx, n)
		must(err)
		for _, m := range b.Movements {
			if m.Kind == chains.KindToken && m.Outputs[0].Address == hex(pool) &&
				m.Inputs[0].Address == hex(chain.Addrs[4]) {
				late = n
			}
		}
	}
	for _, tc := range []struct {
		name    string
		max     int
		from    uint64
		want    string
		asks    bool
		failLog bool
		failRef bool
		wantErr string
	}{
		{name: "every transfer seen", max: 100, from: 1,
			want: "e3,e4,e5,e2,eth6,gas0"},
		{name: "forgotten by the bound", max: 2, from: 1, asks: true,
			want: "e3,e4,e5,e2,eth6,gas0"},
		{name: "started after them", max: 100, from: late + 1, asks: true,
			want: "e3,e4,e5,e2,eth6,gas0"},
		{name: "forgotten, the ether too", max: 1, from: 1, asks: true,
			want: "e3,e4,e5,e2,gas0"},
		{name: "nothing observed yet", max: 100, from: head, asks: true,
			want: "e3,e4,e5,e2"},
		{name: "the logs fail", max: 2, from: 1, asks: true, failLog: true,
			wantErr: "fan-in look-back for " + hex(pool) + ": blocks "},
		{name: "a header fails", max: 2, from: 1, asks: true, failRef: true,
			wantErr: "fan-in look-back for " + hex(pool) + ": connection reset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := New(Options{Window: 30 * 24 * time.Hour, MaxPayments: tc.max})
			must(err)
			feed(tr, tc.from)
			node := &countingNode{Node: src, failLogs: tc.failLog, failRef: tc.failRef}
			hops, err := tr.SendersBack(ctx, node, hex(pool), payout)
			if asked := node.refs.Load()+node.logs.Load() > 0; asked != tc.asks {
				t.Errorf("node asked: %v, want %v", asked, tc.asks)
			}
			// The first search for the window's start is a binary search.
			if n := node.refs.Load(); n > int64(bits.Len64(head))+1 {
				t.Errorf("%d headers asked for a chain of %d blocks", n, head)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			must(err)
			var got []string
			for _, h := range hops {
				got = append(got, names[h.From])
				if h.To != hex(pool) || h.Amount.Sign() <= 0 || h.Time.IsZero() {
					t.Errorf("hop %+v", h)
				}
			}
			if strings.Join(got, ",") != tc.want {
				t.Fatalf("senders %s, want %s", strings.Join(got, ","), tc.want)
			}
			if !tc.asks {
				return
			}
			// Asked again, the node is not: what it told is kept.
			node.refs.Store(0)
			node.logs.Store(0)
			again, err := tr.SendersBack(ctx, node, hex(pool), payout)
			if err != nil || len(again) != len(hops) || node.refs.Load()+node.logs.Load() > 0 {
				t.Fatalf("asked again: %d senders (%v), %d headers and %d logs asked",
					len(again), err, node.refs.Load(), node.logs.Load())
			}
		})
	}
	// The source itself asks for traces too: the simulated chain has no trace_filter, so
	// the tokens are found all the same, and the Tracker asks for traces no more.
	tr, err := New(Options{Window: 30 * 24 * time.Hour, MaxPayments: 2})
	must(err)
	feed(tr, 1)
	hops, err := tr.SendersBack(ctx, src, hex(pool), payout)
	if err != nil || len(hops) != 6 || !tr.noTraces {
		t.Fatalf("through the source: %d senders (%v), no traces %v; want 6, true",
			len(hops), err, tr.noTraces)
	}
	// The window's start, as one Tracker finds it for later and later times, against a
	// scan of every block; each time and a second after.
	times := make([]time.Time, head+1)
	for n := range times {
		ref, err := src.Ref(ctx, uint64(n))
		must(err)
		times[n] = ref.Time
	}
	tr, err = New(Options{})
	must(err)
	for n := range times {
		for _, since := range []time.Time{times[n], times[n].Add(time.Second)} {
			want := uint64(len(times))
			for k := range times {
				if !times[k].Before(since) {
					want = uint64(k)
					break
				}
			}
			got, err := tr.windowStart(ctx, src, since, head)
			if err != nil || got != want {
				t.Fatalf("window from %s: block %d (%v), want %d", since, got, err, want)
			}
		}
	}
	if got, err := tr.windowStart(ctx, src, times[0], head); err != nil || got != 0 {
		t.Fatalf("window from the genesis, asked last: block %d (%v), want 0", got, err)
	}
}

// TestSendersBackTraces pays a pool on Anvil, whose trace_filter finds transfers of the
// chain's coin: a funder's, an employer's, another's through a forwarder contract (an
// internal transfer), a third's; other traffic follows. A Tracker that remembers one
// transfer finds the pool's four senders by the node's traces, and none through the same
// node without them (they leave no log). A node without trace_filter is the simulated
// chain's, in TestSendersBack.
func TestSendersBackTraces(t *testing.T) {
	ctx := context.Background()
	node := anviltest.Start(t)
	a, b, c, pool := anviltest.Addr(1), anviltest.Addr(2), anviltest.Addr(3),
		anviltest.Addr(4)
	node.Fund(t, a, b, c, pool)
	fwd := node.Deploy(t, node.Funder, devnet.Forwarder)
	wei := func(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }
	node.Send(t, a, &pool, wei(1), nil)
	node.Send(t, b, &fwd, wei(2), devnet.Forwarder.Pack("forward", pool))
	node.Send(t, c, &pool, wei(3), nil)
	for i := range 2 { // other traffic
		x := anviltest.Addr(10 + i)
		node.Send(t, node.Funder, &x, wei(1), nil)
	}
	funder := node.Funder
	node.Send(t, pool, &funder, wei(1), nil)
	src, payout := dialHead(t, node.URL, ethereum.TracesOn)
	head := payout.Number
	hex := func(a common.Address) string { return strings.ToLower(a.Hex()) }
	names := map[string]string{hex(node.Funder): "funder", hex(a): "a", hex(fwd): "fwd",
		hex(c): "c"}
	for _, tc := range []struct {
		name string
		node Node
		want string
	}{
		{"traces", src, "funder,a,fwd,c"},
		{"no traces", LogsOnly(src), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := New(Options{MaxPayments: 1})
			if err != nil {
				t.Fatal(err)
			}
			for n := uint64(1); n < head; n++ {
				b, err := src.Block(ctx, n)
				if err != nil {
					t.Fatal(err)
				}
				for i := range b.Movements {
					tr.Observe(&b.Movements[i], noLabels)
				}
			}
			hops, err := tr.SendersBack(ctx, tc.node, hex(pool), payout)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range hops {
				got = append(got, names[h.From])
			}
			if strings.Join(got, ",") != tc.want || tr.noTraces {
				t.Fatalf("senders %s, want %s (no traces: %v)", strings.Join(got, ","),
					tc.want, tr.noTraces)
			}
		})
	}
}

// dialHead dials the node at url, for the test, and returns its source and its head.
func dialHead(t *testing.T, url string, traces ethereum.TraceMode) (*ethereum.Source,
	chains.BlockRef) {
	t.Helper()
	ctx := context.Background()
	src, err := ethereum.Dial(ctx, url, ethereum.Options{Chain: "dev", Traces: traces})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	head, err := src.Head(ctx)
	if err == nil {
		var ref chains.BlockRef
		if ref, err = src.Ref(ctx, head); err == nil {
			return src, ref
		}
	}
	t.Fatal(err)
	return nil, chains.BlockRef{}
}

// TestSendersBackKept pays a pool on the simulated chain in a token, from three employers,
// and the pool pays out; 20 days later a fourth employer pays it and, after other traffic,
// it pays out again;
// 11 days after that a fifth, and it pays out a third time. A Tracker that remembers one
// payment looks back at each payout: each time after the first, it asks the node only
// for the blocks after those it asked for last, and finds the senders of the window (at
// the third, the first three are out of it). A reorg that removes one of those blocks makes
// it ask for the whole window again; so does an address that DefaultLookBacks (here 1)
// pushed out.
func TestSendersBackKept(t *testing.T) {
	ctx := context.Background()
	chain, must, token := startPool(t)
	k, pool := chain.Keys, chain.pool
	hex := func(a common.Address) string { return strings.ToLower(a.Hex()) }
	src, _ := dialHead(t, chain.URL, ethereum.TracesOff)
	payout := func() chains.BlockRef {
		t.Helper()
		_, err := chain.Call(ctx, chain.poolKey, chain.usdx, devnet.Token, nil, "transfer",
			chain.Addrs[0], big.NewInt(1))
		must(err)
		head, err := src.Head(ctx)
		must(err)
		ref, err := src.Ref(ctx, head)
		must(err)
		return ref
	}
	_, err := chain.Transfer(ctx, k[0], pool, big.NewInt(1e18)) // gas for the pool
	must(err)
	for i := 1; i <= 3; i++ {
		token(i, pool, int64(100*i))
	}
	first := payout()
	must(chain.AdjustTime(20 * 24 * time.Hour))
	token(4, pool, 400)
	token(7, chain.Addrs[6], 1) // other traffic, which the Tracker remembers instead
	second := payout()
	must(chain.AdjustTime(11 * 24 * time.Hour))
	token(5, pool, 500)
	third := payout()

	tr, err := New(Options{Window: 30 * 24 * time.Hour, MaxPayments: 1})
	must(err)
	var wage4 chains.Movement // the fourth employer's payment
	feed := func(from, to uint64) {
		for n := from; n < to; n++ {
			b, err := src.Block(ctx, n)
			must(err)
			for i, m := range b.Movements {
				tr.Observe(&b.Movements[i], noLabels)
				if m.Kind == chains.KindToken && m.Inputs[0].Address == hex(chain.Addrs[4]) &&
					m.Outputs[0].Address == hex(pool) {
					wage4 = m
				}
			}
		}
	}
	senders := func(hops []rules.Hop) string {
		var s []string
		for _, h := range hops {
			for i := 1; i <= 5; i++ {
				if h.From == hex(chain.Addrs[i]) {
					s = append(s, fmt.Sprint("e", i))
				}
			}
		}
		return strings.Join(s, ",")
	}
	look := func(name string, at chains.BlockRef, want string, wantFrom uint64) {
		t.Helper()
		node := &countingNode{Node: src}
		hops, err := tr.SendersBack(ctx, node, hex(pool), at)
		must(err)
		if got := senders(hops); got != want {
			t.Errorf("%s: senders %s, want %s", name, got, want)
		}
		if len(node.ranges) != 1 || node.ranges[0][0] != wantFrom {
			t.Errorf("%s: logs asked for blocks %v, want one range from %d", name,
				node.ranges, wantFrom)
		}
	}
	feed(1, first.Number)
	look("first", first, "e1,e2,e3", 1)
	asked := tr.looked[hex(pool)].to
	feed(first.Number, second.Number)
	look("second", second, "e1,e2,e3,e4", asked+1)
	asked = tr.looked[hex(pool)].to
	if wage4.Block.Number == 0 || wage4.Block.Number > asked {
		t.Fatalf("the fourth wage, in block %d, is not among the blocks asked (to %d)",
			wage4.Block.Number, asked)
	}
	feed(second.Number, third.Number)
	look("third", third, "e4,e5", asked+1)

	// A reorg removes the fourth wage, which a look-back was told of. (The simulated
	// chain keeps it: the node, asked again, tells it again.)
	removed := wage4
	removed.Removed = true
	tr.Forget(&removed)
	start, err := tr.windowStart(ctx, src, third.Time.Add(-30*24*time.Hour), third.Number-1)
	must(err)
	look("after a reorg", third, "e4,e5", start)

	// Pushed out by another address's look-back.
	tr.lookBacks = 1
	_, err = tr.SendersBack(ctx, src, hex(chain.Addrs[0]), third)
	must(err)
	look("pushed out", third, "e4,e5", start)
}

// poolChain is a simulated chain with a token, USDX, of which its addresses 1 to 5 (the
// employers) hold some, and the key of a pool that they pay.
type poolChain struct {
	*devnet.Chain
	usdx    common.Address
	poolKey *ecdsa.PrivateKey
	pool    common.Address
}

// startPool starts a poolChain for t, and returns it with must, which fails t on an error,
// and token, which sends n USDX with the from-th key.
func startPool(t *testing.T) (c *poolChain, must func(error),
	token func(from int, to common.Address, n int64)) {
	t.Helper()
	ctx := context.Background()
	chain, err := devnet.Start(devnet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chain.Close() })
	must = func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	usdx, err := chain.Deploy(ctx, chain.Keys[7], devnet.Token, "USD X", "USDX",
		big.NewInt(1e12))
	must(err)
	pk := crypto.ToECDSAUnsafe(crypto.Keccak256([]byte("look-back pool")))
	c = &poolChain{Chain: chain, usdx: usdx, poolKey: pk,
		pool: crypto.PubkeyToAddress(pk.PublicKey)}
	token = func(from int, to common.Address, n int64) {
		t.Helper()
		_, err := chain.Call(ctx, chain.Keys[from], usdx, devnet.Token, nil, "transfer", to,
			big.NewInt(n))
		must(err)
	}
	for i := 1; i <= 5; i++ {
		token(7, chain.Addrs[i], 1e6)
	}
	return c, must, token
}
