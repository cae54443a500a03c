package chains

import (
	"context"
	"errors"
)

// ErrTxNotFound is returned by a TxSource for a transaction its node knows neither in a
// block nor in its mempool. The screening API answers 404 on it.
var ErrTxNotFound = errors.New("transaction not found")

// Tx is one transaction as a node knows it now.
type Tx struct {
	Hash string // lower-case hex; 0x-prefixed on EVM chains
	// Mined says whether the transaction is in a block of the node's best chain (Block);
	// when not, it waits in the node's mempool.
	Mined bool
	Block BlockRef
	// Movements are the transaction's movements, as Source.Block gives them for a mined
	// transaction. A pending EVM transaction has only its own value (KindNative): what
	// its execution moves (tokens, internal calls) is known once it is mined.
	Movements []Movement
	// Partial says that Movements may lack some (a pending EVM transaction).
	Partial bool
}

// TxSource finds a single transaction, mined or pending. The ethereum and bitcoin sources
// and Failover implement it.
type TxSource interface {
	// Tx returns the transaction with hash (lower-case hex; 0x-prefixed on EVM chains). A
	// transaction the node does not know is an error wrapping ErrTxNotFound.
	Tx(ctx context.Context, hash string) (*Tx, error)
}

var _ TxSource = (*Failover)(nil)

// Tx implements TxSource, on the endpoints that implement it. A transaction one endpoint
// does not know is asked of the next (it may not have seen it yet).
func (f *Failover) Tx(ctx context.Context, hash string) (*Tx, error) {
	return call(ctx, f, "tx", func(s Source) (*Tx, error) {
		ts, ok := s.(TxSource)
		if !ok {
			return nil, errors.New("the endpoint cannot look transactions up")
		}
		return ts.Tx(ctx, hash)
	})
}
