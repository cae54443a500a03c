package watcher

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// TestPipelineMixerAndBridge plays, on the simulated chain through the real pipeline
// under the three models, deposits that only the contracts' logs show for what they are:
//
//	Lazarus pays A 10 ETH. A deposits 1 ETH into a labelled Tornado-like pool through the
//	router (A's transaction pays the router, which passes it on: the pool's Deposit log
//	shows it); 1 ETH straight into a pool no list names (recognized by its Deposit log);
//	and bridges 3 ETH through a Hop-like bridge no list names, to chain 42161.
//	The look-alikes: a clean user deposits through the same router (no alert), and A pays
//	B through a forwarding contract that logs nothing (the contract is followed, no alert).
//
// Each deposit alerts once per model, at the pool or bridge (not at the router), with the
// destination chain for the bridge; the router is never followed. The same holds with call
// traces, where the router's payment to the pool is a movement of its own, and the
// forwarder's payment to B is seen (B is followed).
func TestPipelineMixerAndBridge(t *testing.T) {
	for _, traced := range []bool{false, true} {
		t.Run(fmt.Sprintf("traces=%v", traced), func(t *testing.T) {
			testMixerAndBridge(t, traced)
		})
	}
}

func testMixerAndBridge(t *testing.T, traced bool) {
	ctx := context.Background()
	lab := newIdleLabTraced(t, traced)
	c := lab.chain
	deploy := func(ct *devnet.Contract, args ...any) common.Address {
		return lab.deploy(t, c.Keys[6], ct, args...)
	}
	listed := deploy(devnet.MixerPool, eth(1))
	unlisted := deploy(devnet.MixerPool, eth(1))
	router := deploy(devnet.MixerRouter)
	bridge := deploy(devnet.HopBridge)
	forwarder := deploy(devnet.Forwarder)
	lab.lists.AddLabel("dev", addr(listed), rules.Label{Entity: "Tornado Cash 1 ETH pool",
		Category: "mixer", List: "test"})
	var rs []rules.Rule
	for _, model := range []string{rules.ModelPoison, rules.ModelHaircut, rules.ModelFIFO} {
		rs = append(rs, rules.Rule{Name: model, Severity: "critical",
			Destinations: []string{"mixer", "bridge"}, MaxHops: 4, Model: model})
	}
	lab.start(t, rs)

	ak, a := labKey("events-a")
	_, b := labKey("events-b")
	call := func(k *ecdsaKey, to common.Address, ct *devnet.Contract, v *big.Int,
		method string, args ...any) {
		lab.call(t, k, to, ct, v, method, args...)
	}
	lab.send(t, c.Keys[0], a, eth(10))
	call(ak, router, devnet.MixerRouter, eth(1), "deposit", listed, [32]byte{1})
	call(ak, unlisted, devnet.MixerPool, eth(1), "deposit", [32]byte{2})
	call(ak, bridge, devnet.HopBridge, eth(3), "sendToL2", big.NewInt(42161), a,
		big.NewInt(0), big.NewInt(0), common.Address{}, big.NewInt(0))
	call(c.Keys[3], router, devnet.MixerRouter, eth(1), "deposit", listed, [32]byte{3})
	call(ak, forwarder, devnet.Forwarder, eth(2), "forward", b)

	var want []string
	for _, model := range []string{"fifo", "haircut", "poison"} {
		want = append(want,
			fmt.Sprintf("%s 1 -> %s Tornado Cash 1 ETH pool mixer test via %s", model,
				addr(listed), addr(router)),
			fmt.Sprintf("%s 1 -> %s mixer pool (Tornado Cash Deposit log) mixer event via %s",
				model, addr(unlisted), addr(unlisted)),
			fmt.Sprintf("%s 3 -> %s bridge (deposit log) bridge event via %s to 42161", model,
				addr(bridge), addr(bridge)))
	}
	sort.Strings(want)
	lab.recv.waitFor(t, len(want))
	waitSettled(t, lab.src, lab.q, "dev")
	var got []string
	for _, al := range lab.recv.alerts() {
		last := al.Path[len(al.Path)-1]
		s := fmt.Sprintf("%s %s -> %s %s %s %s via %s", al.Rule,
			new(big.Int).Div(mustInt(t, al.Amount), eth(1)), al.Destination.Address,
			al.Destination.Entity, al.Destination.Category, al.Destination.List, last.To)
		if al.ToChain != "" {
			s += " to " + al.ToChain
		}
		if al.TaintedAmount != "" || len(al.Path) != 2 || al.Path[0].From != addr(c.Addrs[0]) {
			t.Errorf("alert %s: tainted %q, path %+v", s, al.TaintedAmount, al.Path)
		}
		got = append(got, s)
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	stored, err := lab.store.Taints(ctx, "dev", addr(router), "h/"+addr(router),
		"f/"+addr(router), addr(forwarder), addr(b))
	if err != nil {
		t.Fatal(err)
	}
	want = []string{addr(forwarder)}
	if traced { // without traces the forwarder's payment to B is not seen
		want = keysOf(map[string]rules.Taint{addr(forwarder): {}, addr(b): {}})
	}
	if got := keysOf(stored); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("followed %v, want %v (poison) and never the router", got, want)
	}
}

func mustInt(t *testing.T, s string) *big.Int {
	t.Helper()
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("amount %q", s)
	}
	return n
}
