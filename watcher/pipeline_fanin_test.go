package watcher

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

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
	waitSettled(t, lab.src, lab.q, "dev")

	got := lab.recv.alerts()
	if len(got) != 1 {
		t.Fatalf("%d alerts, want 1: %+v", len(got), got)
	}
	al := got[0]
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
