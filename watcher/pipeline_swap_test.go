package watcher

import (
	"fmt"
	"math/big"
	"sort"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// TestPipelineTokenSwap plays a swap of stolen tokens on the simulated chain through the
// real pipeline, with real ERC-20 contracts and a DEX contract labelled "dex":
//
//	Lazarus pays A 1,000 USDX; A swaps them at the DEX for 500 WETX paid to a fresh F, in
//	one transaction; F pays the exchange 500 WETX. The token-swap rule alerts at F, and the
//	exchange rule alerts at the exchange, 4 hops from Lazarus, the swap in its path.
//	The look-alike: a clean user swaps the same way to a fresh G, who pays the exchange.
func TestPipelineTokenSwap(t *testing.T) {
	lab := newIdleLab(t)
	c := lab.chain
	deploy := func(key *ecdsaKey, ct *devnet.Contract, args ...any) common.Address {
		return lab.deploy(t, key, ct, args...)
	}
	call := func(k *ecdsaKey, to common.Address, ct *devnet.Contract, method string,
		args ...any) {
		lab.call(t, k, to, ct, nil, method, args...)
	}
	units := func(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e6)) }
	usdx := deploy(c.Keys[5], devnet.Token, "USD X", "USDX", units(1e6))
	wetx := deploy(c.Keys[5], devnet.Token, "Wrapped X", "WETX", units(1e6))
	dex := deploy(c.Keys[5], devnet.SimpleDex)
	lab.lists.AddLabel("dev", addr(dex), rules.Label{Entity: "DEX router", Category: "dex",
		List: "test"})
	call(c.Keys[5], wetx, devnet.Token, "transfer", dex, units(10_000))
	call(c.Keys[5], usdx, devnet.Token, "transfer", c.Addrs[0], units(5_000))
	call(c.Keys[5], usdx, devnet.Token, "transfer", c.Addrs[3], units(5_000))
	lab.start(t, []rules.Rule{
		{Name: "token-swap", Severity: "high", Pattern: rules.PatternSwap},
		{Name: "to-exchange", Severity: "high", Destinations: []string{"exchange"},
			MaxHops: 4},
	})

	ak, a := labKey("swap-a")
	fk, f := labKey("swap-f")
	gk, g := labKey("swap-g")
	for _, to := range []common.Address{a, f, g} { // gas money, from a clean wallet
		lab.send(t, c.Keys[4], to, eth(1))
	}
	call(c.Keys[0], usdx, devnet.Token, "transfer", a, units(1_000))
	call(ak, usdx, devnet.Token, "approve", dex, units(1_000))
	call(ak, dex, devnet.SimpleDex, "swap", usdx, units(1_000), wetx, units(500), f)
	call(fk, wetx, devnet.Token, "transfer", lab.exchange, units(500))
	call(c.Keys[3], usdx, devnet.Token, "approve", dex, units(1_000))
	call(c.Keys[3], dex, devnet.SimpleDex, "swap", usdx, units(1_000), wetx, units(500), g)
	call(gk, wetx, devnet.Token, "transfer", lab.exchange, units(500))
	waitSettled(t, lab.src, lab.q, "dev")

	hop := func(from, to, token common.Address, n int64) string {
		return fmt.Sprintf("%s->%s %s %s", addr(from), addr(to), addr(token), units(n))
	}
	want := []string{
		fmt.Sprintf("to-exchange %s %s: %s, %s, %s, %s", addr(lab.exchange), units(500),
			hop(c.Addrs[0], a, usdx, 1000), hop(a, dex, usdx, 1000), hop(dex, f, wetx, 500),
			hop(f, lab.exchange, wetx, 500)),
		fmt.Sprintf("token-swap %s %s: %s, %s, %s", addr(f), units(500),
			hop(c.Addrs[0], a, usdx, 1000), hop(a, dex, usdx, 1000), hop(dex, f, wetx, 500)),
	}
	lab.recv.waitFor(t, len(want))
	var got []string
	for _, al := range lab.recv.alerts() {
		var hops []string
		for _, h := range al.Path {
			hops = append(hops, fmt.Sprintf("%s->%s %s %s", h.From, h.To, h.Asset, h.Amount))
		}
		got = append(got, fmt.Sprintf("%s %s %s: %s", al.Rule, al.Destination.Address,
			al.Amount, strings.Join(hops, ", ")))
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
