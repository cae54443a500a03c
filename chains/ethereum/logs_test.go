package ethereum

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/chains/internal/fakerpc"
)

// tokenChain plays token transfers over several blocks on a dev chain: A sends B 10, 20,
// 30, ... in blocks 2 to 9, B sends C a bit of each in the same blocks, and unrelated
// accounts trade among themselves. It returns the chain, the token and A, B, C.
func tokenChain(t *testing.T) (*devnet.Chain, common.Address, [3]common.Address) {
	t.Helper()
	ctx := context.Background()
	c := startChain(t, false)
	token, err := c.Deploy(ctx, c.Keys[0], devnet.Token, "T", "T", big.NewInt(1_000_000))
	if err != nil {
		t.Fatal(err)
	}
	a, b, cc := c.Addrs[1], c.Addrs[2], c.Addrs[3]
	send := func(key int, to common.Address, n int64) {
		data := devnet.Token.Pack("transfer", to, big.NewInt(n))
		if _, err := c.Submit(ctx, devnet.Tx{Key: c.Keys[key], To: &token,
			Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	for _, to := range []common.Address{a, c.Addrs[4], c.Addrs[5]} {
		send(0, to, 100_000)
	}
	c.Commit()
	for i := int64(1); i <= 8; i++ {
		send(1, b, 10*i)
		send(2, cc, i)         // B passes a bit on, in the same block
		send(4, c.Addrs[5], i) // unrelated
		c.Commit()
	}
	return c, token, [3]common.Address{a, b, cc}
}

func transfersOf(ms []chains.Movement) string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%d/%s %s>%s %s", m.Block.Number, m.Position,
			m.Inputs[0].Address[:6], m.Outputs[0].Address[:6], m.Outputs[0].Amount))
	}
	return strings.Join(out, "\n")
}

// TestTransferLogs: the transfers a topic filter names, in chain order, each once (a
// transfer from a sender to a receiver both asked for comes once), with block times, as
// the blocks' own extraction has them.
func TestTransferLogs(t *testing.T) {
	ctx := context.Background()
	c, _, abc := tokenChain(t)
	src, err := Dial(ctx, c.URL, Options{Traces: TracesOff})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	head, err := src.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := src.TransferLogs(ctx, 1, head, []string{lower(abc[0])},
		[]string{lower(abc[1]), lower(abc[2])})
	if err != nil {
		t.Fatal(err)
	}
	// What the block extraction finds: the same filter applied to every block's transfers.
	want := extracted(t, src, head, []chains.Kind{chains.KindToken},
		[]string{lower(abc[0])}, []string{lower(abc[1]), lower(abc[2])})
	if len(want) != 16 { // A to B (sent by A and received by B) and B to C, in 8 blocks
		t.Fatalf("the chain has %d matching transfers, want 16:\n%s", len(want),
			transfersOf(want))
	}
	if transfersOf(got) != transfersOf(want) {
		t.Fatalf("got:\n%s\nwant:\n%s", transfersOf(got), transfersOf(want))
	}
	for i := range got {
		if !got[i].Block.Time.Equal(want[i].Block.Time) || got[i].Tx != want[i].Tx ||
			got[i].Block.Hash != want[i].Block.Hash || got[i].TxIndex != want[i].TxIndex {
			t.Errorf("%d: %+v, want %+v", i, got[i].Block, want[i].Block)
		}
	}
}

// extracted is what block extraction finds in blocks 1..head: the movements of kinds sent
// by one of senders or received by one of receivers.
func extracted(t *testing.T, src *Source, head uint64, kinds []chains.Kind, senders,
	receivers []string) []chains.Movement {
	t.Helper()
	var out []chains.Movement
	for n := uint64(1); n <= head; n++ {
		b, err := src.Block(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range b.Movements {
			if slices.Contains(kinds, m.Kind) &&
				(slices.Contains(senders, m.Inputs[0].Address) ||
					slices.Contains(receivers, m.Outputs[0].Address)) {
				out = append(out, m)
			}
		}
	}
	return out
}

// rangeLimiter proxies a dev node and refuses log queries wider than max blocks, as
// providers do (EIP-1474's limit exceeded).
func rangeLimiter(t *testing.T, node string, max uint64) (*fakerpc.Server, *int) {
	t.Helper()
	c, err := rpc.Dial(node)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	refused := new(int)
	s := fakerpc.New(t, func(method string, params []json.RawMessage) (any, *fakerpc.Error) {
		if method == "eth_getLogs" {
			var f struct{ FromBlock, ToBlock quantity }
			if err := json.Unmarshal(params[0], &f); err != nil {
				return nil, &fakerpc.Error{Code: -32602, Message: err.Error()}
			}
			if uint64(f.ToBlock-f.FromBlock)+1 > max {
				*refused++
				return nil, &fakerpc.Error{Code: -32005,
					Message: fmt.Sprintf("query exceeds max block range %d", max)}
			}
		}
		args := make([]any, len(params))
		for i := range params {
			args[i] = params[i]
		}
		var raw json.RawMessage
		if err := c.Call(&raw, method, args...); err != nil {
			return nil, &fakerpc.Error{Code: -32000, Message: err.Error()}
		}
		return raw, nil
	})
	return s, refused
}

// TestTransferLogsSplitsRanges: a node that refuses wide log ranges gets narrower ones,
// down to what it takes, and the result is the same; the span learnt is kept.
func TestTransferLogsSplitsRanges(t *testing.T) {
	ctx := context.Background()
	c, _, abc := tokenChain(t)
	direct, err := Dial(ctx, c.URL, Options{Traces: TracesOff})
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	head, _ := direct.Head(ctx)
	senders := []string{lower(abc[0]), lower(abc[1])}
	// More senders than one filter names: the query is made in parts.
	for i := range MaxTopicAddresses {
		senders = append(senders, fmt.Sprintf("0x%040x", i+1))
	}
	want, err := direct.TransferLogs(ctx, 1, head, senders, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 16 {
		t.Fatalf("%d transfers, want 16", len(want))
	}
	proxy, refused := rangeLimiter(t, c.URL, 3)
	src, err := Dial(ctx, proxy.URL, Options{Traces: TracesOff})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got, err := src.TransferLogs(ctx, 1, head, senders, nil)
	if err != nil {
		t.Fatal(err)
	}
	if transfersOf(got) != transfersOf(want) {
		t.Fatalf("through the limiter:\n%s\nwant:\n%s", transfersOf(got), transfersOf(want))
	}
	if span := src.LogSpan(); span == 0 || span > 3 || *refused == 0 {
		t.Fatalf("span %d after %d refusals, want 1..3 after some", span, *refused)
	}
	before := *refused
	if _, err := src.TransferLogs(ctx, 1, head, senders[:1], nil); err != nil {
		t.Fatal(err)
	}
	if *refused != before {
		t.Errorf("the span learnt was not kept: %d more refusals", *refused-before)
	}
}

// TestTransferLogsRefusedBlock: a node that refuses even one block's logs is an error that
// names the block, not a silent gap.
func TestTransferLogsRefusedBlock(t *testing.T) {
	ctx := context.Background()
	c, _, abc := tokenChain(t)
	proxy, _ := rangeLimiter(t, c.URL, 0)
	src, err := Dial(ctx, proxy.URL, Options{Traces: TracesOff})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	_, err = src.TransferLogs(ctx, 2, 5, []string{lower(abc[0])}, nil)
	if err == nil || !strings.Contains(err.Error(), "logs of blocks 2..2") {
		t.Fatalf("err %v, want one naming blocks 2..2", err)
	}
}

// TestDecodeLogsRecorded decodes a recorded mainnet eth_getLogs answer (Erigon's RPC
// tests, block 16,000,000: Transfer logs with blockTimestamp) into token movements.
func TestDecodeLogsRecorded(t *testing.T) {
	raw, err := os.ReadFile(recordedLogs(t))
	if err != nil {
		t.Fatal(err)
	}
	var rec []struct {
		Response struct{ Result json.RawMessage } `json:"response"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	logs, err := decodeLogs(rec[0].Response.Result)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range logs {
		l := &logs[i]
		if l.BlockTimestamp == nil {
			t.Fatalf("log %d: no blockTimestamp", i)
		}
		if _, ok := tokenTransfer(chains.Movement{}, &l.rpcLog); ok {
			n++
		}
	}
	first, ok := tokenTransfer(chains.Movement{}, &logs[0].rpcLog)
	if !ok || n < 100 || first.Outputs[0].Asset != "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48" ||
		first.Outputs[0].Amount.String() != "120000000" || first.Position != "log:0" {
		t.Fatalf("%d transfers; first %+v", n, first)
	}
}

func recordedLogs(t testing.TB) string {
	return fixturesDir(t) + "/erigon-rpc-tests/integration/mainnet/eth_getLogs/test_04/test_04.json"
}

func FuzzDecodeLogs(f *testing.F) {
	if raw, err := os.ReadFile(recordedLogs(f)); err == nil {
		var rec []struct {
			Response struct{ Result json.RawMessage } `json:"response"`
		}
		if json.Unmarshal(raw, &rec) == nil && len(rec) > 0 {
			f.Add([]byte(rec[0].Response.Result))
		}
	}
	f.Add([]byte(`[{"blockNumber":"0x1","logIndex":"0x0","transactionIndex":"0x0",` +
		`"transactionHash":"0x01","blockHash":"0x02","topics":[],"data":"0x"}]`))
	f.Add([]byte(`[{}]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		logs, err := decodeLogs(raw)
		if err != nil {
			return
		}
		for i := range logs {
			if logs[i].BlockNumber == nil || logs[i].LogIndex == nil {
				t.Fatalf("log %d accepted without block or index", i)
			}
			_, _ = tokenTransfer(chains.Movement{}, &logs[i].rpcLog)
		}
	})
}

// TestFailoverTransferLogs: through a failover of two endpoints, the transfers are the
// node's own answer; when the first endpoint fails, the second answers; when both fail,
// the error says so.
func TestFailoverTransferLogs(t *testing.T) {
	ctx := context.Background()
	c, _, abc := tokenChain(t)
	a, _ := rangeLimiter(t, c.URL, 1<<30)
	b, _ := rangeLimiter(t, c.URL, 1<<30)
	f := failoverOf(t, a.URL, b.URL)
	direct := failoverSource(t, b.URL)
	head, err := direct.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	receivers := []string{lower(abc[1])}
	want, err := direct.TransferLogs(ctx, 1, head, nil, receivers)
	if err != nil || len(want) == 0 {
		t.Fatalf("direct: %d transfers, %v", len(want), err)
	}
	for range 20 {
		a.Inject(fakerpc.Status(503, 0))
	}
	got, err := f.TransferLogs(ctx, 1, head, nil, receivers)
	if err != nil || transfersOf(got) != transfersOf(want) {
		t.Fatalf("a down: %v\ngot:\n%s\nwant:\n%s", err, transfersOf(got), transfersOf(want))
	}
	for range 20 {
		b.Inject(fakerpc.Status(503, 0))
		a.Inject(fakerpc.Status(503, 0))
	}
	if _, err := f.TransferLogs(ctx, 1, head, nil, receivers); err == nil {
		t.Fatal("both down: no error")
	}
}
