package replay

import (
	"context"

	"github.com/flowwatch/flowwatch/chains"
)

// Follower is what a History feeds, in chain order: a Replayer.
type Follower interface {
	Visit(m *chains.Movement)
	// FollowingSince returns the addresses that hold watched funds, from the n-th
	// reached on (the given addresses first).
	FollowingSince(n int) []string
}

var _ Follower = (*Replayer)(nil)

// History gives a block range's movements to a Follower in chain order.
type History interface {
	Replay(ctx context.Context, from, to uint64, f Follower) error
}

var (
	_ History = Movements(nil)
	_ History = (*Scan)(nil)
	_ History = (*Logs)(nil)
	_ History = (*AddrIndex)(nil)
	_ History = (*Traces)(nil)
)

// Scan gives every movement of every block of the range, fetched through a chains.Source
// (Inflight blocks at once, delivered in order).
type Scan struct {
	Source   chains.Source
	Inflight int // blocks fetched at once; 0: chains.DefaultInflight
	// Progress, when set, is told of each block done, from the goroutine that called
	// Replay.
	Progress func(blocks uint64)
}

// Replay implements History.
func (s *Scan) Replay(ctx context.Context, from, to uint64, f Follower) error {
	return chains.Stream(ctx, s.Source, from, to, s.Inflight, func(b *chains.Block) error {
		for i := range b.Movements {
			f.Visit(&b.Movements[i])
		}
		if s.Progress != nil {
			s.Progress(1)
		}
		return nil
	})
}

// Movements is a History of movements at hand, in chain order: read from a file that
// `flowwatch extract` wrote (chains.ReadJSONL), say.
type Movements []chains.Movement

// Replay implements History: the movements of blocks from..to.
func (ms Movements) Replay(_ context.Context, from, to uint64, f Follower) error {
	for i := range ms {
		if n := ms[i].Block.Number; n >= from && n <= to {
			f.Visit(&ms[i])
		}
	}
	return nil
}
