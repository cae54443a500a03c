package watcher

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// TestPipelineDepositInference plays, on the simulated chain through the real pipeline
// under the three models, an exchange deposit address that no list names:
//
//	A clean customer pays D 5 ETH; D forwards 4.999 ETH to the exchange's hot wallet (the
//	rest pays the fee): D is inferred to be the exchange's deposit address, the forward its
//	evidence. Lazarus pays A 40 ETH; A pays D 10: each rule alerts at D, before any sweep,
//	naming the exchange and the evidence. D's sweep of those 10 alerts nothing more.
//	The look-alike: P receives 5 ETH and pays the exchange 2 (not what it received): P is
//	no deposit address; A pays P 10, which P's payment of 3 to the exchange then carries.
//
// Then a reorg orphans D's first forward and everything after: the inference must stay
// exactly as long as that forward is on the canonical chain, and every alert of the
// orphaned blocks is retracted once.
func TestPipelineDepositInference(t *testing.T) {
	ctx := context.Background()
	lab := newLab(t, func(o *WorkerOptions) {
		o.Deposits = map[string]deposit.Options{"dev": {}}
	})
	c, src, q, store, recv, exchange := lab.chain, lab.src, lab.q, lab.store, lab.recv,
		lab.exchange
	key := labKey
	ak, a := key("deposit-a")
	dk, d := key("deposit-d")
	pk, p := key("deposit-p")
	milli := milliEth
	send := func(k *ecdsaKey, to common.Address, v *big.Int) common.Hash {
		return lab.send(t, k, to, v)
	}

	send(c.Keys[3], d, eth(5))
	forkPoint := lab.head(t)
	sweep := send(dk, exchange, milli(4999))
	send(c.Keys[3], p, eth(5))
	send(pk, exchange, eth(2))
	send(c.Keys[0], a, eth(40))
	send(ak, d, eth(10))
	send(dk, exchange, milli(9999))
	send(ak, p, eth(10))
	send(pk, exchange, eth(3))

	summary := func(al alerting.Alert) string {
		return fmt.Sprintf("%s %s -> %s %s %s evidence %q", al.Rule, al.State,
			al.Destination.Entity, al.Destination.Category, al.Destination.List,
			al.Destination.Evidence)
	}
	var want []string
	for _, model := range []string{"fifo", "haircut", "poison"} {
		want = append(want,
			fmt.Sprintf("%s confirmed -> Binance 14 exchange test evidence %q", model, ""),
			fmt.Sprintf("%s confirmed -> Binance 14 exchange_deposit inferred evidence %q",
				model, strings.ToLower(sweep.Hex())))
	}
	sort.Strings(want)
	recv.waitFor(t, len(want))
	waitSettled(t, src, q, "dev")
	var got []string
	for _, al := range recv.alerts() {
		got = append(got, summary(al))
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantAmounts := []string{
		"fifo confirmed 10 all | 40 all, 10 all", "fifo confirmed 3 all | 40 all, 10 all, 3 all",
		"haircut confirmed 10 all | 40 all, 10 all",
		"haircut confirmed 3 all | 40 all, 10 all, 3 all",
		"poison confirmed 10 all | 40 all, 10 all",
		"poison confirmed 3 all | 40 all, 10 all, 3 all",
	}
	if got := amountSummaries(recv.alerts(), 18); strings.Join(got, "\n") !=
		strings.Join(wantAmounts, "\n") {
		t.Fatalf("amounts:\n%s\nwant:\n%s", strings.Join(got, "\n"),
			strings.Join(wantAmounts, "\n"))
	}
	inferred, err := store.Taints(ctx, "dev", deposit.Key(addr(d)), deposit.Key(addr(p)),
		addr(d), "h/"+addr(d), "f/"+addr(d))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := inferred[deposit.Key(addr(d))]; !ok || len(inferred) != 1 {
		t.Fatalf("stored %v, want only D's inference (P is none, D is not followed)",
			keysOf(inferred))
	}

	// The reorg.
	if err := c.Fork(common.HexToHash(forkPoint.Hash)); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		send(c.Keys[4], c.Addrs[5], eth(1))
	}
	waitSettled(t, src, q, "dev")
	_, rerr := c.Client.TransactionReceipt(ctx, sweep)
	canonical := rerr == nil
	t.Logf("after the reorg: D's first forward mined again: %v", canonical)
	after, err := store.Taints(ctx, "dev", deposit.Key(addr(d)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := after[deposit.Key(addr(d))]; ok != canonical {
		t.Fatalf("D's inference stored %v, its evidence canonical %v", ok, canonical)
	}
	confirmed := map[string]bool{}
	seen := map[string]bool{}
	retracted := 0
	for _, al := range recv.alerts() {
		if seen[al.DedupKey()] {
			t.Fatalf("notified twice: %s", al.DedupKey())
		}
		seen[al.DedupKey()] = true
		switch al.State {
		case alerting.StateConfirmed:
			confirmed[al.ID+al.BlockHash] = true
		case alerting.StateRetracted:
			retracted++
			if !confirmed[al.ID+al.BlockHash] {
				t.Fatalf("retracted %s, never confirmed in block %s", al.ID, al.BlockHash)
			}
		}
	}
	if retracted != 6 {
		t.Fatalf("%d retractions, want 6 (both alerts under each model)", retracted)
	}
}

func keysOf(m map[string]rules.Taint) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
