package main

// Waiting for the node to mine a transaction, and finding where it did.

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// wait polls for h's receipt, for at most a minute, and returns the block that mined it;
// when h is the last transaction sent, it notes that block there.
func (w *world) wait(ctx context.Context, h common.Hash) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for scan := time.Now().Add(5 * time.Second); ; {
		b, ok, err := uint64(0), false, error(nil)
		if r, rerr := w.ec.TransactionReceipt(ctx, h); rerr == nil {
			if r.Status != 1 {
				return 0, fmt.Errorf("transaction %s failed", h)
			}
			b, ok = r.BlockNumber.Uint64(), true
		} else if time.Now().After(scan) {
			// After debug_setHead, geth's index of transactions may still name an
			// orphaned block for one mined again (it logs "Transaction not found"), and
			// the receipt is never found: look for it in the last blocks themselves.
			scan = time.Now().Add(5 * time.Second)
			if b, ok, err = w.findMined(ctx, h); err != nil {
				return 0, err
			}
			if ok {
				fmt.Printf("soak: %s found mined in block %d by reading the blocks (no "+
					"receipt)\n", h, b)
			} else if err := w.rebroadcast(ctx, h); err != nil {
				return 0, err
			}
		}
		if ok {
			if n := len(w.sent); n > 0 && w.sent[n-1].tx.Hash() == h {
				w.sent[n-1].block = b
			}
			return b, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("wait for %s: %w (%s)", h, ctx.Err(), w.whereIs(h))
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// rebroadcast sends h again if the node has neither mined it nor holds it in its pool, as a
// wallet does: after debug_setHead, geth's pool can drop a transaction sent again (its
// state still at the old head, it refused it, "nonce too low", and its reset to the new head
// did not find it among the orphaned blocks' transactions, which the head set deleted).
func (w *world) rebroadcast(ctx context.Context, h common.Hash) error {
	if _, _, err := w.ec.TransactionByHash(ctx, h); !errors.Is(err, ethereum.NotFound) {
		return nil // held, or the node did not answer: look again later
	}
	for i := len(w.sent) - 1; i >= 0; i-- {
		if tx := w.sent[i].tx; tx.Hash() == h {
			err := w.submit(ctx, tx)
			fmt.Printf("soak: %s neither mined nor pending: sent again (%v)\n", h, err)
			return nil // refused or not, the next look says whether it is mined
		}
	}
	return nil
}

// findMined looks for h in the chain's last 2*maxForkDepth blocks, and returns the block
// that mined it, if one did.
func (w *world) findMined(ctx context.Context, h common.Hash) (uint64, bool, error) {
	head, err := w.ec.BlockNumber(ctx)
	if err != nil {
		return 0, false, err
	}
	for n := head; n > 0 && n+2*maxForkDepth > head; n-- {
		blk, err := w.ec.BlockByNumber(ctx, new(big.Int).SetUint64(n))
		if err != nil {
			return 0, false, fmt.Errorf("block %d: %w", n, err)
		}
		if blk.Transaction(h) != nil {
			return n, true, nil
		}
	}
	return 0, false, nil
}

// whereIs says what the node knows of h, which was not found mined: whether its pool has
// it, and its sender's nonce against the transaction's.
func (w *world) whereIs(h common.Hash) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tx, pending, err := w.ec.TransactionByHash(ctx, h)
	if err != nil {
		return fmt.Sprintf("the node does not have it: %v", err)
	}
	from, err := types.Sender(types.LatestSignerForChainID(tx.ChainId()), tx)
	if err != nil {
		return err.Error()
	}
	mined, err := w.ec.NonceAt(ctx, from, nil)
	if err != nil {
		return err.Error()
	}
	next, err := w.ec.PendingNonceAt(ctx, from)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("pending %v, nonce %d; its sender's nonce %d mined, %d pending", pending,
		tx.Nonce(), mined, next)
}
