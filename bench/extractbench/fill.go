package main

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"math/rand/v2"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
)

const fillKeys = 20

type sender struct {
	key   *ecdsa.PrivateKey
	addr  common.Address
	nonce uint64
}

// fill adds at least n blocks of mixed traffic to a geth --dev node, which seals a block
// whenever transactions are pending. The dev account (eth_accounts[0]) funds fresh keys.
func fill(ctx context.Context, url string, n uint64) error {
	rc, err := rpc.DialContext(ctx, url)
	if err != nil {
		return err
	}
	ec := ethclient.NewClient(rc)
	chainID, err := ec.ChainID(ctx)
	if err != nil {
		return err
	}
	var accounts []common.Address
	if err := rc.CallContext(ctx, &accounts, "eth_accounts"); err != nil || len(accounts) == 0 {
		return fmt.Errorf("dev account: %v", err)
	}
	signer := types.LatestSignerForChainID(chainID)
	senders := make([]*sender, fillKeys)
	var last common.Hash
	for i := range senders {
		key := fillKey(i)
		s := &sender{key: key, addr: crypto.PubkeyToAddress(key.PublicKey)}
		senders[i] = s
		if err := rc.CallContext(ctx, &last, "eth_sendTransaction", map[string]any{
			"from": accounts[0], "to": s.addr,
			"value": (*hexutil.Big)(new(big.Int).Mul(big.NewInt(1000), big.NewInt(1e18))),
		}); err != nil {
			return fmt.Errorf("fund: %w", err)
		}
	}
	if err := wait(ctx, ec, last); err != nil {
		return err
	}
	for _, s := range senders {
		if s.nonce, err = ec.PendingNonceAt(ctx, s.addr); err != nil {
			return err
		}
	}
	send := func(s *sender, to *common.Address, value *big.Int, data []byte, gas uint64) (
		common.Hash, error) {
		tx, err := types.SignNewTx(s.key, signer, &types.DynamicFeeTx{ChainID: chainID,
			Nonce: s.nonce, GasTipCap: big.NewInt(1e9), GasFeeCap: big.NewInt(100e9), Gas: gas,
			To: to, Value: value, Data: data})
		if err != nil {
			return common.Hash{}, err
		}
		s.nonce++
		return tx.Hash(), ec.SendTransaction(ctx, tx)
	}
	deploy := func(ct *devnet.Contract, data []byte) (common.Address, error) {
		s := senders[0]
		addr := crypto.CreateAddress(s.addr, s.nonce)
		h, err := send(s, nil, nil, append(append([]byte{}, ct.Bin...), data...), 3_000_000)
		if err != nil {
			return addr, err
		}
		return addr, wait(ctx, ec, h)
	}
	args, err := devnet.Token.ABI.Pack("", "Bench", "BNC", new(big.Int).Lsh(big.NewInt(1), 200))
	if err != nil {
		return err
	}
	token, err := deploy(devnet.Token, args)
	if err != nil {
		return fmt.Errorf("deploy token: %w", err)
	}
	fwd, err := deploy(devnet.Forwarder, nil)
	if err != nil {
		return fmt.Errorf("deploy forwarder: %w", err)
	}
	// Spread tokens so every sender can move some.
	for _, s := range senders[1:] {
		if last, err = send(senders[0], &token, nil, devnet.Token.Pack("transfer", s.addr,
			big.NewInt(1e15)), 100_000); err != nil {
			return err
		}
	}
	if err := wait(ctx, ec, last); err != nil {
		return err
	}
	start, err := ec.BlockNumber(ctx)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for head := start; head < start+n; {
		for range 1 + rng.IntN(6) {
			s := senders[rng.IntN(len(senders))]
			to := senders[rng.IntN(len(senders))].addr
			switch rng.IntN(3) {
			case 0:
				last, err = send(s, &to, big.NewInt(rng.Int64N(1e15)+1), nil, 21_000)
			case 1:
				last, err = send(s, &token, nil, devnet.Token.Pack("transfer", to,
					big.NewInt(rng.Int64N(1e6)+1)), 100_000)
			default:
				last, err = send(s, &fwd, big.NewInt(rng.Int64N(1e15)+1),
					devnet.Forwarder.Pack("forward", to), 100_000)
			}
			if err != nil {
				return err
			}
		}
		if err := wait(ctx, ec, last); err != nil {
			return err
		}
		if head, err = ec.BlockNumber(ctx); err != nil {
			return err
		}
	}
	return nil
}

// wait polls for h's receipt every few milliseconds (bind.WaitMined polls once a second,
// which would make filling take an hour), for at most 30 seconds.
func wait(ctx context.Context, ec *ethclient.Client, h common.Hash) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		if _, err := ec.TransactionReceipt(ctx, h); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", h, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// fillKey is the i-th key fill sends from.
func fillKey(i int) *ecdsa.PrivateKey {
	return crypto.ToECDSAUnsafe(crypto.Keccak256([]byte(fmt.Sprintf("extractbench/%d", i))))
}

// fillAddress is the address of fillKey(i).
func fillAddress(i int) common.Address { return crypto.PubkeyToAddress(fillKey(i).PublicKey) }
