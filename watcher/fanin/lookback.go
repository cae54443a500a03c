package fanin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/ethereum"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// Node is what a look-back asks an EVM node (ethereum.Source and chains.Failover have
// both): the ERC-20 transfers of a block range by their logs, and a block's identity,
// with its time.
type Node interface {
	chains.TransferLogSource
	Ref(ctx context.Context, n uint64) (chains.BlockRef, error)
}

// TraceNode is what a look-back asks besides of a node that has it: the transfers of the
// chain's coin, those of contract calls included, by the node's traces (trace_filter:
// Erigon, Nethermind, Reth, Anvil). A node that answers ethereum.ErrNoTraceFilter is not
// asked again.
type TraceNode = chains.TraceTransferSource

// LogsOnly is node without its traces: a look-back through it asks for logs only (for a
// chain whose traces are off, which a provider may charge for).
func LogsOnly(node Node) Node { return logsOnly{node} }

type logsOnly struct{ Node }

// SendersBack is Senders for a payment by addr in block at, with what the Tracker cannot
// remember asked of node: what addr received in the part of the window before the Tracker
// saw every transfer (it started later, or MaxPayments forgot them), the latest MaxScan
// transfers of it. Those are the ERC-20 transfers, by their logs, and, when node is a
// TraceNode with trace_filter, the transfers of the chain's coin; through another node
// those are not seen (they leave no log). When the Tracker saw every transfer of the
// window, or remembers MaxSenders senders of addr already, node is not asked.
//
// It asks the node for the headers of a search for the window's first block (about 25 the
// first time on Ethereum; a few after that, from the last answer), then for the range's
// logs and traces. What the node told of addr is kept (for the last DefaultLookBacks
// addresses asked about): asked about addr again, it asks only for the blocks after those
// it asked for last. An error of the node is returned, wrapped, with nothing else: the
// caller fails what it was judging, to judge it again.
func (tr *Tracker) SendersBack(ctx context.Context, node Node, addr string,
	at chains.BlockRef) ([]rules.Hop, error) {
	near := tr.Senders(addr, at.Time)
	since := at.Time.Add(-tr.opts.Window)
	complete, completeBlock := tr.complete, tr.completeBlock
	if !tr.seen { // nothing observed yet: nothing before at is remembered
		complete, completeBlock = at.Time, at.Number
	}
	if !complete.After(since) || at.Number == 0 || len(near) >= tr.opts.MaxSenders {
		return near, nil
	}
	// The transfers of block completeBlock are some remembered, some not.
	to := min(completeBlock, at.Number-1)
	looked, ok := tr.looked[addr]
	far := looked.hops
	if !ok || looked.to < to {
		from, err := tr.windowStart(ctx, node, since, to)
		if err != nil {
			return nil, fmt.Errorf("fan-in look-back for %s: %w", addr, err)
		}
		if ok {
			from = max(from, looked.to+1)
		}
		if from <= to {
			got, err := tr.ask(ctx, node, addr, from, to)
			if err != nil {
				return nil, fmt.Errorf("fan-in look-back for %s: %w", addr, err)
			}
			far = append(slices.Clip(far), got...)
		}
		far = tr.merge(nil, far, since) // what later look-backs need of it
		tr.keep(addr, lookedBack{to: to, hops: far})
	}
	return tr.merge(near, far, since), nil
}

// ask is what the node tells of addr's payments in blocks from..to: by the logs and, if
// it has them, the traces; the latest MaxScan, as Senders reads at most MaxScan payments.
func (tr *Tracker) ask(ctx context.Context, node Node, addr string, from, to uint64) (
	[]rules.Hop, error) {
	ms, err := node.TransferLogs(ctx, from, to, nil, []string{addr})
	if err != nil {
		return nil, fmt.Errorf("blocks %d..%d: %w", from, to, err)
	}
	if tn, ok := node.(TraceNode); ok && !tr.noTraces {
		coin, err := tn.TraceTransfers(ctx, from, to, nil, []string{addr})
		switch {
		case errors.Is(err, ethereum.ErrNoTraceFilter):
			tr.noTraces = true
		case err != nil:
			return nil, fmt.Errorf("traces of blocks %d..%d: %w", from, to, err)
		default:
			ms = append(ms, coin...)
			slices.SortStableFunc(ms, func(a, b chains.Movement) int {
				return cmp.Or(cmp.Compare(a.Block.Number, b.Block.Number),
					cmp.Compare(a.TxIndex, b.TxIndex))
			})
		}
	}
	ms = ms[max(0, len(ms)-tr.opts.MaxScan):]
	hops := make([]rules.Hop, 0, len(ms))
	for i := range ms {
		m := &ms[i]
		from, to, ok := m.Transfer()
		if ok && to.Address == addr && from.Address != addr {
			hops = append(hops, rules.HopOf(m, from.Address, *to))
		}
	}
	return hops, nil
}

// merge returns the distinct senders of far (the node's, in chain order) and near (the
// Tracker's, oldest first, from the last of far's blocks on) in the window from since,
// each at its latest payment, at most MaxSenders, the latest, oldest first. It changes
// neither.
func (tr *Tracker) merge(near, far []rules.Hop, since time.Time) []rules.Hop {
	all := make([]rules.Hop, 0, len(far)+len(near))
	for _, h := range far {
		if !h.Time.Before(since) {
			all = append(all, h)
		}
	}
	all = append(all, near...)
	last := make(map[string]int, len(all))
	for i, h := range all {
		last[h.From] = i
	}
	out := make([]rules.Hop, 0, len(last))
	for i, h := range all {
		if last[h.From] == i {
			out = append(out, h)
		}
	}
	slices.SortStableFunc(out, func(a, b rules.Hop) int { return cmp.Compare(a.Block, b.Block) })
	return out[max(0, len(out)-tr.opts.MaxSenders):]
}

// DefaultLookBacks is how many addresses' look-backs a Tracker keeps what the node told of.
const DefaultLookBacks = 1 << 10

// lookedBack is what the node told of an address's payments in the blocks up to to: the
// distinct senders (merge), which are all that a later look-back needs of them. A sender
// left out has MaxSenders later ones, which stay later in any later window.
type lookedBack struct {
	to   uint64
	hops []rules.Hop
}

// keep keeps l as what the node told of addr, forgetting the address kept first when
// DefaultLookBacks are kept.
func (tr *Tracker) keep(addr string, l lookedBack) {
	if tr.looked == nil {
		tr.looked = map[string]lookedBack{}
	}
	if _, ok := tr.looked[addr]; !ok {
		if len(tr.lookedOrder) >= tr.maxLooked() {
			delete(tr.looked, tr.lookedOrder[0])
			tr.lookedOrder = tr.lookedOrder[1:]
		}
		tr.lookedOrder = append(tr.lookedOrder, addr)
	}
	tr.looked[addr] = l
}

func (tr *Tracker) maxLooked() int {
	if tr.lookBacks > 0 {
		return tr.lookBacks
	}
	return DefaultLookBacks
}

// forgetLookedBack forgets what the node told of blocks from block on (a reorg removed
// one): the addresses whose look-backs reached them are asked about from the start again.
func (tr *Tracker) forgetLookedBack(block uint64) {
	for addr, l := range tr.looked {
		if l.to >= block {
			delete(tr.looked, addr)
			tr.lookedOrder = slices.DeleteFunc(tr.lookedOrder,
				func(a string) bool { return a == addr })
		}
	}
}

// windowStart is the first block, of 0..last, whose time is at or after since; last+1 if
// none is: a binary search, of about 25 headers on a chain as long as Ethereum's. It
// remembers its answer: the blocks before it are before a later since too, so the next
// search starts there, with steps that double until one passes since, then halves the last
// step (a few headers, for a since a little later).
func (tr *Tracker) windowStart(ctx context.Context, node Node, since time.Time,
	last uint64) (uint64, error) {
	lo := uint64(0) // every block before lo is before since
	gallop := tr.startKnown && !since.Before(tr.startSince)
	if gallop {
		lo = min(tr.startBlock, last+1)
	}
	before := func(n uint64) (bool, error) {
		ref, err := node.Ref(ctx, n)
		return err == nil && ref.Time.Before(since), err
	}
	hi := last + 1 // at or after since, or past last
	for step := uint64(1); gallop && lo+step-1 <= last; step *= 2 {
		p := lo + step - 1
		b, err := before(p)
		if err != nil {
			return 0, err
		}
		if !b {
			hi = p
			break
		}
		lo = p + 1
	}
	var err error
	n := sort.Search(int(hi-lo), func(i int) bool {
		var b bool
		if err == nil {
			b, err = before(lo + uint64(i))
		}
		return err != nil || !b
	})
	if err != nil {
		return 0, err
	}
	tr.startKnown, tr.startSince, tr.startBlock = true, since, lo+uint64(n)
	return tr.startBlock, nil
}

var (
	_ Node      = (*ethereum.Source)(nil)
	_ Node      = (*chains.Failover)(nil)
	_ TraceNode = (*ethereum.Source)(nil)
	_ TraceNode = (*chains.Failover)(nil)
)
