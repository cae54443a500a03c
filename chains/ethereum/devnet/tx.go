package devnet

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// Tx is a transaction to sign and send.
type Tx struct {
	Key   *ecdsa.PrivateKey
	To    *common.Address // nil creates a contract
	Value *big.Int        // nil is zero
	Data  []byte
	// Gas is the gas limit; 0 means 21000 for a plain transfer and an estimate otherwise.
	// Set it to send a transaction that will fail (estimation refuses those).
	Gas uint64
}

// poolLag bounds how long Submit waits for the transaction pool to catch up with a block
// just sealed: geth resets the pool to a new head asynchronously, so a transaction from an
// account funded in that block can meet stale balances and nonces for a moment.
const (
	poolLag     = 5 * time.Second
	poolLagPoll = 2 * time.Millisecond
)

// Submit signs tx and hands it to the pool without sealing a block.
func (c *Chain) Submit(ctx context.Context, tx Tx) (common.Hash, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	deadline := time.Now().Add(poolLag)
	for {
		h, err := c.submit(ctx, tx)
		if err == nil || time.Now().After(deadline) || !stalePool(err) {
			return h, err
		}
		select {
		case <-ctx.Done():
			return h, err
		case <-time.After(poolLagPoll):
		}
	}
}

// stalePool reports the rejections a pool that has not caught up with the head gives:
// balances and nonces of the block before (a stale pending nonce also makes the new
// transaction look like an underpriced replacement of one just mined).
func stalePool(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "insufficient funds") || strings.Contains(msg, "nonce too low") ||
		strings.Contains(msg, "replacement transaction underpriced")
}

func (c *Chain) submit(ctx context.Context, tx Tx) (common.Hash, error) {
	from := crypto.PubkeyToAddress(tx.Key.PublicKey)
	nonce, err := c.Client.PendingNonceAt(ctx, from)
	if err != nil {
		return common.Hash{}, fmt.Errorf("nonce of %s: %w", from, err)
	}
	value := tx.Value
	if value == nil {
		value = new(big.Int)
	}
	gas := tx.Gas
	if gas == 0 {
		gas = 21_000
		if len(tx.Data) > 0 {
			gas = 1_000_000
		}
	}
	tip := big.NewInt(1_000_000_000)
	head, err := c.Client.HeaderByNumber(ctx, nil)
	if err != nil {
		return common.Hash{}, fmt.Errorf("head: %w", err)
	}
	feeCap := new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2)))
	signed, err := types.SignNewTx(tx.Key, types.LatestSignerForChainID(c.ChainID),
		&types.DynamicFeeTx{ChainID: c.ChainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap,
			Gas: gas, To: tx.To, Value: value, Data: tx.Data})
	if err != nil {
		return common.Hash{}, err
	}
	if err := c.Client.SendTransaction(ctx, signed); err != nil {
		return common.Hash{}, fmt.Errorf("send: %w", err)
	}
	return signed.Hash(), nil
}

// Send submits tx, seals a block and returns the receipt. A failed transaction is a receipt
// with status 0, not an error.
func (c *Chain) Send(ctx context.Context, tx Tx) (*types.Receipt, error) {
	h, err := c.Submit(ctx, tx)
	if err != nil {
		return nil, err
	}
	c.Commit()
	return c.Receipt(ctx, h)
}

// Receipt returns a mined transaction's receipt.
func (c *Chain) Receipt(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	r, err := c.Client.TransactionReceipt(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("receipt of %s: %w", h, err)
	}
	return r, nil
}

// Transfer sends value from key's account to `to` in its own block.
func (c *Chain) Transfer(ctx context.Context, key *ecdsa.PrivateKey, to common.Address,
	value *big.Int) (*types.Receipt, error) {
	return c.Send(ctx, Tx{Key: key, To: &to, Value: value})
}
