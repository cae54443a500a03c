package replay

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/ethereum"
)

// TransferLogs is the node query the Logs history asks: ERC-20 transfers of a block range
// sent by any of senders or received by any of receivers, in chain order.
type TransferLogs interface {
	TransferLogs(ctx context.Context, from, to uint64, senders, receivers []string) (
		[]chains.Movement, error)
}

var _ TransferLogs = (*ethereum.Source)(nil)

// Logs gives the ERC-20 transfers of the followed addresses only, by topic-filtered log
// queries, instead of every block: far fewer requests over a long range where the funds
// move in tokens. Native and internal transfers are not seen. Each time funds reach new
// addresses, the rest of the range is asked again for those addresses' transfers.
type Logs struct {
	Node TransferLogs
	// Receivers asks also for the transfers into followed addresses: haircut and FIFO
	// count the clean value that arrives where tainted value is held; poison does not.
	Receivers bool
	// Progress, when set, is told of the blocks passed, from the goroutine that called
	// Replay.
	Progress func(blocks uint64)
}

// Replay implements History.
func (l *Logs) Replay(ctx context.Context, from, to uint64, f Follower) error {
	addrs := f.FollowingSince(0)
	known := len(addrs)
	pending, err := l.fetch(ctx, from, to, addrs)
	if err != nil {
		return err
	}
	passed := from // blocks before passed are done
	for i := 0; i < len(pending); i++ {
		m := &pending[i]
		f.Visit(m)
		if l.Progress != nil && m.Block.Number > passed {
			l.Progress(m.Block.Number - passed)
			passed = m.Block.Number
		}
		more := f.FollowingSince(known)
		if len(more) == 0 {
			continue
		}
		known += len(more)
		got, err := l.fetch(ctx, m.Block.Number, to, more)
		if err != nil {
			return err
		}
		rest := slices.Clone(pending[i+1:])
		for _, g := range got {
			if after(&g, m) {
				rest = append(rest, g)
			}
		}
		slices.SortStableFunc(rest, compareLogs)
		rest = slices.CompactFunc(rest, func(a, b chains.Movement) bool {
			return compareLogs(a, b) == 0
		})
		pending = append(pending[:i+1], rest...)
	}
	if l.Progress != nil {
		l.Progress(to + 1 - passed)
	}
	return nil
}

func (l *Logs) fetch(ctx context.Context, from, to uint64, addrs []string) (
	[]chains.Movement, error) {
	var receivers []string
	if l.Receivers {
		receivers = addrs
	}
	return l.Node.TransferLogs(ctx, from, to, addrs, receivers)
}

// logIndex is the block-wide log index of a token movement's position.
func logIndex(m *chains.Movement) uint64 {
	n, _ := strconv.ParseUint(strings.TrimPrefix(m.Position, "log:"), 10, 64)
	return n
}

func compareLogs(a, b chains.Movement) int {
	return cmp.Or(cmp.Compare(a.Block.Number, b.Block.Number),
		cmp.Compare(logIndex(&a), logIndex(&b)))
}

// after says whether a comes after b in the chain.
func after(a, b *chains.Movement) bool { return compareLogs(*a, *b) > 0 }
