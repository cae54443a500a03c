package replay

import (
	"cmp"
	"context"
	"slices"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/bitcoin"
	"github.com/flowwatch/flowwatch/chains/ethereum"
)

// TransferLogs is the node query the Logs history asks: ERC-20 transfers of a block range
// sent by any of senders or received by any of receivers, in chain order.
type TransferLogs = chains.TransferLogSource

// TraceTransfers is the node query the Traces history asks besides TransferLogs: native
// and internal transfers of a block range sent by any of senders or received by any of
// receivers, in chain order.
type TraceTransfers = chains.TraceTransferSource

// AddressTxs is the node query the AddrIndex history asks: the transactions of a block
// range that pay or spend any of addrs, in chain order.
type AddressTxs interface {
	AddressTxs(ctx context.Context, from, to uint64, addrs []string) ([]chains.Movement,
		error)
}

var (
	_ TransferLogs   = (*ethereum.Source)(nil)
	_ TraceTransfers = (*ethereum.Source)(nil)
	_ AddressTxs     = (*bitcoin.Source)(nil)
)

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
	return follow(ctx, from, to, f, l.Progress, func(from, to uint64, addrs []string) (
		[]chains.Movement, error) {
		var receivers []string
		if l.Receivers {
			receivers = addrs
		}
		return l.Node.TransferLogs(ctx, from, to, addrs, receivers)
	})
}

// Traces gives the followed addresses' native and internal transfers (trace_filter) and
// their ERC-20 transfers (eth_getLogs), instead of every block: what Scan gives of them,
// except the mixer and bridge deposit logs that mark a deposit through a router (a
// deposit straight into a labelled pool is seen all the same).
type Traces struct {
	Node interface {
		TransferLogs
		TraceTransfers
	}
	// Receivers asks also for the transfers into followed addresses (haircut, FIFO).
	Receivers bool
	// Progress, when set, is told of the blocks passed, from the goroutine that called
	// Replay.
	Progress func(blocks uint64)
}

// Replay implements History.
func (t *Traces) Replay(ctx context.Context, from, to uint64, f Follower) error {
	return follow(ctx, from, to, f, t.Progress, func(from, to uint64, addrs []string) (
		[]chains.Movement, error) {
		var receivers []string
		if t.Receivers {
			receivers = addrs
		}
		native, err := t.Node.TraceTransfers(ctx, from, to, addrs, receivers)
		if err != nil {
			return nil, err
		}
		tokens, err := t.Node.TransferLogs(ctx, from, to, addrs, receivers)
		if err != nil {
			return nil, err
		}
		all := append(native, tokens...)
		slices.SortStableFunc(all, compareOrder)
		return all, nil
	})
}

// AddrIndex gives the Bitcoin transactions that pay or spend the followed addresses,
// from the node's address index (btcd --addrindex) instead of every block. Each time
// funds reach new addresses, the rest of the range is asked again for theirs.
type AddrIndex struct {
	Node AddressTxs
	// Progress, when set, is told of the blocks passed, from the goroutine that called
	// Replay.
	Progress func(blocks uint64)
}

// Replay implements History.
func (a *AddrIndex) Replay(ctx context.Context, from, to uint64, f Follower) error {
	return follow(ctx, from, to, f, a.Progress, func(from, to uint64, addrs []string) (
		[]chains.Movement, error) {
		return a.Node.AddressTxs(ctx, from, to, addrs)
	})
}

// follow feeds f, in chain order, what query finds for the followed addresses. When a
// movement makes f follow new addresses, query is asked for their movements in the rest
// of that block at once (a one-block query), and, once the replay moves past the block,
// for the rest of the range for all the addresses the block added together: one wide
// query per block that adds addresses, not one per address.
func follow(ctx context.Context, from, to uint64, f Follower, progress func(uint64),
	query func(from, to uint64, addrs []string) ([]chains.Movement, error)) error {
	addrs := f.FollowingSince(0)
	known := len(addrs)
	pending, err := query(from, to, addrs)
	if err != nil {
		return err
	}
	passed := from     // blocks before passed are done
	var added []string // followed from block cur on, not yet asked for after it
	var cur uint64
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(added) > 0 && (i == len(pending) || pending[i].Block.Number > cur) {
			if cur < to {
				got, err := query(cur+1, to, added)
				if err != nil {
					return err
				}
				pending = merge(pending, i-1, got)
			}
			added = nil
		}
		if i == len(pending) {
			break
		}
		m := &pending[i]
		cur = m.Block.Number
		f.Visit(m)
		if progress != nil && cur > passed {
			progress(cur - passed)
			passed = cur
		}
		more := f.FollowingSince(known)
		if len(more) == 0 {
			continue
		}
		known += len(more)
		added = append(added, more...)
		got, err := query(cur, cur, more)
		if err != nil {
			return err
		}
		pending = merge(pending, i, got)
	}
	if progress != nil {
		progress(to + 1 - passed)
	}
	return nil
}

// merge adds to pending, after its done-th element (the last visited; -1: none), the
// movements of got that come after it, in chain order, each once.
func merge(pending []chains.Movement, done int, got []chains.Movement) []chains.Movement {
	rest := slices.Clone(pending[done+1:])
	for _, g := range got {
		if done < 0 || compareOrder(g, pending[done]) > 0 {
			rest = append(rest, g)
		}
	}
	slices.SortStableFunc(rest, compareOrder)
	rest = slices.CompactFunc(rest, func(a, b chains.Movement) bool {
		return compareOrder(a, b) == 0
	})
	return append(pending[:done+1], rest...)
}

// compareOrder orders movements as block extraction does: by block, transaction, then
// position (chains.ComparePositions).
func compareOrder(a, b chains.Movement) int {
	return cmp.Or(cmp.Compare(a.Block.Number, b.Block.Number), cmp.Compare(a.TxIndex, b.TxIndex),
		chains.ComparePositions(a.Position, b.Position))
}
