package fanin

import (
	"fmt"
	"hash/maphash"
	"math/big"
	"slices"
	"time"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/internal/seqindex"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// Defaults for Options.
const (
	DefaultWindow = 30 * 24 * time.Hour
	// DefaultMaxPayments bounds the payments remembered per chain, at about 370 bytes each
	// with the movement's strings they keep (BenchmarkObserve): 190 MB, about five hours
	// of Ethereum mainnet's transfers. The window is in effect the shorter of Window and
	// this many payments.
	DefaultMaxPayments = 1 << 19
	DefaultMaxSenders  = 32
	// DefaultMaxScan bounds the payments that Senders reads, newest first, of one receiver.
	DefaultMaxScan = 1 << 12
	// MaxMaxPayments bounds Options.MaxPayments, which the index must number.
	MaxMaxPayments = 1 << (seqindex.SeqBits - 1)
)

// Options configure a Tracker.
type Options struct {
	// Window is how long a payment counts.
	Window time.Duration
	// MaxPayments bounds the payments remembered (the oldest forgotten first).
	MaxPayments int
	// MaxSenders bounds the distinct senders that Senders returns (the latest kept).
	MaxSenders int
	// MaxScan bounds the payments to one receiver that Senders reads to find them.
	MaxScan int
}

func (o *Options) setDefaults() {
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	if o.MaxPayments == 0 {
		o.MaxPayments = DefaultMaxPayments
	}
	if o.MaxSenders == 0 {
		o.MaxSenders = DefaultMaxSenders
	}
	if o.MaxScan == 0 {
		o.MaxScan = DefaultMaxScan
	}
}

// Validate reports the first invalid option, naming it.
func (o *Options) Validate() error {
	switch {
	case o.Window < 0:
		return fmt.Errorf("window %s: want more than 0", o.Window)
	case o.MaxPayments < 1 || o.MaxPayments > MaxMaxPayments:
		return fmt.Errorf("max_payments %d: want 1 to %d", o.MaxPayments, MaxMaxPayments)
	case o.MaxSenders < 1:
		return fmt.Errorf("max_senders %d: want at least 1", o.MaxSenders)
	case o.MaxScan < o.MaxSenders:
		return fmt.Errorf("max_scan %d: want at least max_senders (%d)", o.MaxScan,
			o.MaxSenders)
	}
	return nil
}

// Tracker remembers who paid whom lately on one chain. See the package documentation.
type Tracker struct {
	opts     Options
	seed     maphash.Seed
	index    *seqindex.Index // each receiver's latest payment
	payments seqindex.Queue[payment]
	chain    string // of the movements observed
	pruned   int64  // the limit the payments were last pruned to
	// From the block completeBlock, at time complete, on, every transfer observed that
	// is within the window is remembered: the first block observed, or that of the last
	// payment MaxPayments forgot (seen: one was observed).
	seen          bool
	complete      time.Time
	completeBlock uint64
	// The last window start that SendersBack found: the first block at or after
	// startSince is startBlock (startKnown: one was found).
	startKnown bool
	startSince time.Time
	startBlock uint64
	noTraces   bool // the node has no trace_filter
	// What look-backs were told, by address, and the addresses in the order first kept;
	// lookBacks, if set, bounds them instead of DefaultLookBacks (tests).
	looked      map[string]lookedBack
	lookedOrder []string
	lookBacks   int
	// What Prefetch read ahead for: the transfers, the next of them for Observe, and the
	// sum of what it read, kept so that the reads are not optimized away.
	ahead []ahead
	next  int
	sink  uint64
}

// payment is one transfer remembered. A receiver's payments are linked, newest first,
// through prev; the index names the newest.
type payment struct {
	to, from, tx, pos, asset string
	block                    uint64
	time                     time.Time
	amount                   big.Int
	tag                      uint64 // the receiver's, in the index
	prev                     uint64 // the receiver's previous payment's number, plus 1; 0: none
	latest                   bool   // the index names it
	removed                  bool   // a reorg took it back
}

// View says which addresses a list labels: payments to them are not remembered, since a
// labelled address (a service: an exchange's hot wallet, a bridge) is never a pooling
// address (see rules.PatternFanIn).
type View interface {
	Label(addr string) (rules.Label, bool)
}

// QuietView is a View that can say of an address, cheaply, that it is neither watched nor
// labelled. Observe asks Quiet first when its View has it; false means only that Label must
// answer.
type QuietView interface {
	View
	Quiet(addr string) bool
}

// New returns a Tracker.
func New(opts Options) (*Tracker, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Tracker{opts: opts, seed: maphash.MakeSeed(), index: seqindex.New()}, nil
}

// Observe notes a movement, in chain order: a transfer with value from one address to
// another (Bitcoin transactions and event movements are not counted). The same movement
// observed again (a batch judged again after a failure) is noted once. A payment to an
// address that v labels is not noted.
func (tr *Tracker) Observe(m *chains.Movement, v View) {
	a, ok := tr.transfer(m)
	if !ok {
		return
	}
	sender, o, tag := a.from, a.to, a.tag
	if !tr.seen {
		tr.seen, tr.complete, tr.completeBlock = true, m.Block.Time, m.Block.Number
	}
	if limit := m.Block.Time.Add(-tr.opts.Window).Unix(); limit != tr.pruned {
		tr.prune(limit)
		tr.pruned = limit
	}
	if labelled(v, o.Address) {
		return
	}
	last, pos := tr.lookup(o.Address, tag)
	for p := last; p != nil && p.block >= m.Block.Number; p = tr.prev(p) {
		if !p.removed && p.tx == m.Tx && p.pos == m.Position {
			return
		}
	}
	tr.chain = m.Chain
	p, seq := tr.payments.Push()
	amount := p.amount
	*p = payment{to: o.Address, from: sender.Address, tx: m.Tx, pos: m.Position,
		asset: o.Asset, block: m.Block.Number, time: m.Block.Time, amount: amount, tag: tag,
		latest: true}
	p.amount.Set(o.Amount)
	e := seqindex.Entry(tag, seq)
	if last != nil {
		p.prev = seqindex.Seq(tr.payments.Head(), tr.index.At(pos)) + 1
		last.latest = false
		tr.index.Set(pos, e)
	} else {
		tr.index.Insert(pos, e)
	}
	for tr.payments.Len() > tr.opts.MaxPayments {
		if p := tr.payments.At(tr.payments.Head()); p.block >= tr.completeBlock {
			tr.complete, tr.completeBlock = p.time, p.block
		}
		tr.drop()
	}
}

// labelled says whether v labels addr.
func labelled(v View, addr string) bool {
	if qv, ok := v.(QuietView); ok && qv.Quiet(addr) {
		return false
	}
	_, ok := v.Label(addr)
	return ok
}

// Senders returns addr's distinct senders whose latest payment is within the window
// before now, oldest first: the payment hops. It reads at most MaxScan of addr's payments
// and returns at most MaxSenders senders, the latest.
func (tr *Tracker) Senders(addr string, now time.Time) []rules.Hop {
	p, _ := tr.lookup(addr, tr.tagOf(addr))
	var out []rules.Hop
	for n := 0; p != nil && n < tr.opts.MaxScan && len(out) < tr.opts.MaxSenders; n++ {
		if now.Sub(p.time) > tr.opts.Window {
			break // the older are older still
		}
		if !p.removed && !slices.ContainsFunc(out, func(h rules.Hop) bool {
			return h.From == p.from
		}) {
			out = append(out, rules.Hop{Chain: tr.chain, Block: p.block, Time: p.time,
				Tx: p.tx, Position: p.pos, From: p.from, To: addr, Asset: p.asset,
				Amount: new(big.Int).Set(&p.amount)})
		}
		p = tr.prev(p)
	}
	slices.Reverse(out)
	return out
}

// Forget takes back a movement that a reorg removed.
func (tr *Tracker) Forget(m *chains.Movement) {
	_, o, ok := m.Transfer()
	if !ok {
		return
	}
	tr.forgetLookedBack(m.Block.Number)
	p, _ := tr.lookup(o.Address, tr.tagOf(o.Address))
	for ; p != nil && p.block >= m.Block.Number; p = tr.prev(p) {
		if p.tx == m.Tx && p.pos == m.Position {
			p.removed = true
		}
	}
}

// Len is how many payments the Tracker remembers.
func (tr *Tracker) Len() int { return tr.payments.Len() }

// Capacity is how many payments the Tracker remembers at most (Options.MaxPayments).
func (tr *Tracker) Capacity() int { return tr.opts.MaxPayments }

// Reach is the block time between the oldest payment remembered and the newest: the
// window that fan-in rules have in effect, at most Window (shorter when MaxPayments
// forgets first). It is 0 when none is remembered.
func (tr *Tracker) Reach() time.Duration {
	q := &tr.payments
	if q.Len() == 0 {
		return 0
	}
	return q.At(q.Tail() - 1).time.Sub(q.At(q.Head()).time)
}

// lookup returns the latest payment to addr, whose tag is tag, nil if none is remembered,
// and where addr is in the index or would go.
func (tr *Tracker) lookup(addr string, tag uint64) (*payment, int) {
	x := tr.index
	i := x.Home(tag)
	for e := x.At(i); e != 0; e = x.At(i) {
		if seqindex.TagOf(e) == tag {
			if p := tr.payments.At(seqindex.Seq(tr.payments.Head(), e)); p.to == addr {
				return p, i
			}
		}
		i = x.Next(i)
	}
	return nil, i
}

// prev is the payment to p's receiver before p; nil if none is remembered.
func (tr *Tracker) prev(p *payment) *payment {
	if p.prev == 0 || p.prev-1 < tr.payments.Head() {
		return nil
	}
	return tr.payments.At(p.prev - 1)
}

// prune forgets the payments made before limit (Unix seconds).
func (tr *Tracker) prune(limit int64) {
	for tr.payments.Len() > 0 && tr.payments.At(tr.payments.Head()).time.Unix() < limit {
		tr.drop()
	}
}

// drop forgets the oldest payment.
func (tr *Tracker) drop() {
	seq := tr.payments.Head()
	p := tr.payments.At(seq)
	if p.latest {
		tr.index.Delete(tr.index.Find(seqindex.Entry(p.tag, seq)))
	}
	*p = payment{amount: p.amount} // the strings go; the amount keeps its storage
	tr.payments.Pop()
}
