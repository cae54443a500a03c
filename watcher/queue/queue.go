package queue

import (
	"context"
	"errors"
	"time"
)

// ErrConflict is returned by Append and Rollback when the chain's cursor is not where the
// caller expected: another poller moved it, or a retried call already went through. The
// caller re-reads the cursor with Tip and carries on from there.
var ErrConflict = errors.New("cursor moved")

// Tip is a chain's cursor: the last block whose movements were published. A zero Tip
// (Valid false) means nothing was published yet.
type Tip struct {
	Number uint64
	Hash   string
	Valid  bool
}

// Record is what the journal keeps of a recent block: its identity and the payloads it
// published, so that a reorg can publish them again as removed.
type Record struct {
	Number     uint64
	Hash       string
	ParentHash string
	Payloads   [][]byte
}

// Tip returns the cursor a record moves to.
func (r *Record) Tip() Tip { return Tip{Number: r.Number, Hash: r.Hash, Valid: true} }

// MaxEntryPayloads is how many payloads one stream entry carries at most. A block's
// payloads are published as entries of up to this many, in order, so that a stream entry,
// and each read, acknowledgement and trim, covers a block's worth of movements rather than
// one: the per-entry costs of Redis Streams are paid per block (bench/pipeline.sh).
const MaxEntryPayloads = 256

// Message is one entry read from a chain's stream: up to MaxEntryPayloads payloads of one
// block (or of one rollback), in order.
type Message struct {
	ID       string // stream entry id, increasing within a chain
	Chain    string
	Payloads [][]byte
	// Err is set when the entry cannot be decoded (it was not written by a Journal); such
	// an entry can never be processed, and consumers log and acknowledge it.
	Err error
}

// chunks splits payloads into the entries that carry them.
func chunks(payloads [][]byte) [][][]byte {
	var out [][][]byte
	for len(payloads) > 0 {
		n := min(len(payloads), MaxEntryPayloads)
		out = append(out, payloads[:n:n])
		payloads = payloads[n:]
	}
	return out
}

// Journal is the poller's side: per chain, the stream of published movements and the
// cursor, written together.
type Journal interface {
	// Tip returns the chain's cursor.
	Tip(ctx context.Context, chain string) (Tip, error)
	// Record returns the stored record of block n, if the journal still keeps it.
	Record(ctx context.Context, chain string, n uint64) (Record, bool, error)
	// Append publishes rec's payloads (as entries of up to MaxEntryPayloads) and moves the
	// cursor from expect to rec, keeping rec and the records of the depth-1 blocks before
	// it; all or nothing. ErrConflict if the cursor is not expect.
	Append(ctx context.Context, chain string, expect Tip, rec Record, depth int) error
	// AppendBlocks appends recs in order, as Append would one after another from expect,
	// in one step: all or nothing. ErrConflict if the cursor is not expect.
	AppendBlocks(ctx context.Context, chain string, expect Tip, recs []Record, depth int) error
	// Rollback publishes removed (the orphaned blocks' movements marked removed), forgets
	// the records above to, and moves the cursor from expect back to to; all or nothing.
	Rollback(ctx context.Context, chain string, expect, to Tip, removed [][]byte) error
}

// Consumer is the rules workers' side: one consumer group per chain.
type Consumer interface {
	// Read hands out up to count entries that no consumer has had yet, waiting at most
	// block for the first. An empty result with no error means none arrived in time.
	Read(ctx context.Context, chain, consumer string, count int, block time.Duration) (
		[]Message, error)
	// Ack marks entries done; they are not handed out again.
	Ack(ctx context.Context, chain string, ids ...string) error
	// Claim takes over up to count entries that were handed out at least minIdle ago and
	// never acknowledged (their consumer died), oldest first, and hands them to consumer.
	Claim(ctx context.Context, chain, consumer string, minIdle time.Duration, count int) (
		[]Message, error)
	// Backlog returns how many entries (not payloads) are not yet acknowledged: handed out
	// and pending, or not handed out yet. Pollers wait while it is above their limit
	// (back-pressure).
	Backlog(ctx context.Context, chain string) (int64, error)
}

// Owners hands a chain's stream to one consumer at a time. Following funds hop by hop needs
// a chain's movements judged in stream order, so of several workers only the owner of a
// chain reads it; the others stand by and take over when the owner stops renewing.
type Owners interface {
	// Own acquires or renews consumer's ownership of chain for ttl. ok is false while
	// another consumer owns it.
	Own(ctx context.Context, chain, consumer string, ttl time.Duration) (ok bool, err error)
	// Release ends consumer's ownership of chain, if it has it, so that another worker can
	// take over at once.
	Release(ctx context.Context, chain, consumer string) error
	// OwnerKey names the key that holds chain's owner, for fencing writes by ownership
	// (taint.Fence); "" where ownership is not kept in a key that writes can check.
	OwnerKey(chain string) string
}
