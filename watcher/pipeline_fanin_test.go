package watcher

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/watcher/fanin"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// TestPipelineFanIn plays the pattern of DPRK IT workers' wages on the simulated chain
// through the real pipeline: four employers pay a worker's address C, which pools the wages
// and pays the watched collector (Lazarus, here). The fan-in rule (4 senders in 30 days)
// alerts once, at C, with the four payments and C's payment as its path; C's second payment
// alerts nothing more. Every payer of the collector is recorded as its counterparty. The
// look-alikes: D, paid by two, pays the collector (a counterparty, no fan-in); E, paid by
// four, pays a clean address (nothing); H, an exchange's hot wallet that a list labels,
// paid by four, pays the collector (a withdrawal: a counterparty, no fan-in).
func TestPipelineFanIn(t *testing.T) {
	ctx := context.Background()
	lab := newIdleLab(t)
	c := lab.chain
	hk, hot := labKey("fanin-h")
	lab.lists.AddLabel("dev", addr(hot), rules.Label{Entity: "Kraken 4", Category: "exchange",
		List: "test"})
	lab.start(t, []rules.Rule{{Name: "fan-in", Severity: "high", Pattern: rules.PatternFanIn,
		Count: 4, Window: 30 * 24 * time.Hour}})
	ck, pool := labKey("fanin-c")
	dk, d := labKey("fanin-d")
	ek, e := labKey("fanin-e")
	collector := c.Addrs[0]
	employers := []*ecdsaKey{c.Keys[3], c.Keys[4], c.Keys[5], c.Keys[6]}
	for _, k := range employers {
		lab.send(t, k, pool, eth(1))
		lab.send(t, k, e, eth(1))
		lab.send(t, k, hot, eth(1))
	}
	for _, k := range employers[:2] {
		lab.send(t, k, d, eth(1))
	}
	lab.send(t, ck, collector, eth(3))
	lab.send(t, ck, collector, milliEth(500))
	lab.send(t, dk, collector, eth(1))
	lab.send(t, ek, c.Addrs[7], eth(3))
	lab.send(t, hk, collector, eth(3))
	al := lab.onlyAlert(t)
	var from []string
	for _, h := range al.Path {
		from = append(from, h.From)
	}
	var want []string
	for _, k := range employers {
		want = append(want, addr(crypto.PubkeyToAddress(k.PublicKey)))
	}
	want = append(want, addr(pool))
	if al.Destination.Address != addr(pool) || al.Destination.Category != "fan_in" ||
		al.Destination.Entity != "pooled from 4 senders" || al.Source.Entity != "Lazarus Group" ||
		strings.Join(from, " ") != strings.Join(want, " ") || al.Amount != eth(3).String() {
		t.Fatalf("alert %+v\nwant the path from %v", al, want)
	}
	keys := []string{rules.PatternKey(rules.PatternCounterparty, addr(pool)),
		rules.PatternKey(rules.PatternCounterparty, addr(d)),
		rules.PatternKey(rules.PatternCounterparty, addr(e)),
		rules.PatternKey(rules.PatternCounterparty, addr(hot))}
	stored, err := lab.store.Taints(ctx, "dev", keys...)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(keysOf(stored)); got != fmt.Sprint(keysOf(map[string]rules.Taint{
		keys[0]: {}, keys[1]: {}, keys[3]: {}})) {
		t.Fatalf("counterparties stored %s, want C, D and H", got)
	}
	if cp := stored[keys[0]]; cp.Root != addr(collector) ||
		cp.Path[0].Amount.Cmp(milliEth(500)) != 0 {
		t.Fatalf("C's counterparty record %+v: want its latest payment to the collector", cp)
	}
}

func milliEth(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e15)) }

// flakyNode is the lab's node, whose first look-back for logs fails (a node's fault on
// demand).
type flakyNode struct {
	fanin.Node
	calls atomic.Int64
}

func (n *flakyNode) TransferLogs(ctx context.Context, from, to uint64, senders,
	receivers []string) ([]chains.Movement, error) {
	if n.calls.Add(1) == 1 {
		return nil, errors.New("connection reset")
	}
	return n.Node.TransferLogs(ctx, from, to, senders, receivers)
}

// TestPipelineFanInLookBack plays the IT workers' wages in a token, pooled before the
// worker's memory reaches: it remembers two transfers (fan_in.max_payments), and other
// traffic follows the wages. Four employers pay C in USDX, two pay D; C, then D, pay the
// watched collector. The fan-in rule alerts once, at C, with the four token payments that
// the node's logs give (fanin.Tracker.SendersBack) and C's payment as its path; D, paid by
// two, alerts nothing. The node's first answer for logs is an error: the batch fails and
// is judged again, and the alert is sent once.
func TestPipelineFanInLookBack(t *testing.T) {
	lab := newIdleLab(t)
	c := lab.chain
	units := func(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e6)) }
	usdx := lab.deploy(t, c.Keys[7], devnet.Token, "USD X", "USDX", units(1e6))
	employers := []*ecdsaKey{c.Keys[3], c.Keys[4], c.Keys[5], c.Keys[6]}
	for _, k := range employers {
		lab.call(t, c.Keys[7], usdx, devnet.Token, nil, "transfer",
			crypto.PubkeyToAddress(k.PublicKey), units(10_000))
	}
	node := &flakyNode{Node: lab.src}
	lab.start(t, []rules.Rule{{Name: "fan-in", Severity: "high", Pattern: rules.PatternFanIn,
		Count: 4, Window: 30 * 24 * time.Hour}}, func(o *WorkerOptions) {
		o.FanIn = map[string]fanin.Options{"dev": {MaxPayments: 2}}
		o.LookBack = map[string]fanin.Node{"dev": node}
	})
	ck, pool := labKey("lookback-c")
	dk, d := labKey("lookback-d")
	lab.send(t, c.Keys[1], pool, eth(1)) // gas money
	lab.send(t, c.Keys[1], d, eth(1))
	for _, k := range employers {
		lab.call(t, k, usdx, devnet.Token, nil, "transfer", pool, units(3_000))
	}
	for _, k := range employers[:2] {
		lab.call(t, k, usdx, devnet.Token, nil, "transfer", d, units(3_000))
	}
	for i := range 3 { // other traffic: the worker forgets the wages
		_, x := labKey(fmt.Sprintf("lookback-x%d", i))
		lab.send(t, c.Keys[2], x, eth(1))
	}
	collector := c.Addrs[0]
	lab.send(t, ck, collector, milliEth(500))
	lab.send(t, dk, collector, milliEth(500))
	al := lab.onlyAlert(t)
	var path, want []string
	for _, h := range al.Path {
		path = append(path, h.From+" "+h.Asset)
	}
	for _, k := range employers {
		want = append(want, addr(crypto.PubkeyToAddress(k.PublicKey))+" "+addr(usdx))
	}
	want = append(want, addr(pool)+" native")
	if al.Destination.Address != addr(pool) || al.Destination.Entity != "pooled from 4 senders" ||
		strings.Join(path, ", ") != strings.Join(want, ", ") ||
		al.Amount != milliEth(500).String() {
		t.Fatalf("alert %+v\npath %v, want %v", al, path, want)
	}
	if n := node.calls.Load(); n < 3 {
		t.Fatalf("the node was asked for logs %d times: want the failed look-back, C's "+
			"again and D's", n)
	}
}

// onlyAlert waits until the lab's pipeline has judged the chain and returns the one alert
// it raised; it fails the test if it raised another number.
func (l *lab) onlyAlert(t *testing.T) alerting.Alert {
	t.Helper()
	waitSettled(t, l.src, l.q, "dev")
	got := l.recv.alerts()
	if len(got) != 1 {
		t.Fatalf("%d alerts, want 1: %+v", len(got), got)
	}
	return got[0]
}
