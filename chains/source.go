package chains

import (
	"context"
	"errors"
)

// ErrBlockNotFound is returned by a Source for a block the node does not have yet. A poller
// branches on it to wait for the head rather than fail.
var ErrBlockNotFound = errors.New("block not found")

// Source gives a chain's blocks as movements. Implementations are safe for concurrent use:
// Stream calls Block from several goroutines at once.
type Source interface {
	// Head returns the number of the newest block the node knows.
	Head(ctx context.Context) (uint64, error)
	// Block returns block n with its movements in block order. A block the node does not
	// have is an error wrapping ErrBlockNotFound.
	Block(ctx context.Context, n uint64) (*Block, error)
	// Ref returns block n's identity (number, hash, parent, time) without its body, for
	// reorg checks. A block the node does not have is an error wrapping ErrBlockNotFound.
	Ref(ctx context.Context, n uint64) (BlockRef, error)
}
