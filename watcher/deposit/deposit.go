package deposit

import (
	"fmt"
	"math/big"
	"time"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// Defaults for Options.
const (
	// DefaultWindow is how long after value arrived its forward still counts: exchanges
	// sweep within hours.
	DefaultWindow = 24 * time.Hour
	// DefaultMaxReceipts bounds the addresses whose arrivals are remembered per chain, at
	// about 440 bytes each with the movement's strings they keep (BenchmarkObserve):
	// 115 MB, some hours of Ethereum mainnet's transfers. The window is in effect the
	// shorter of Window and this many arrivals.
	DefaultMaxReceipts = 1 << 18
	// DefaultNativeTolerance is how much less than what arrived a forward of the chain's
	// coin may be, in base units: 0.01 of a coin of 18 decimals, Victor's bound, which covers
	// the forward's own fee.
	DefaultNativeTolerance = 10_000_000_000_000_000
)

// List names the list of inferred labels.
const List = "inferred"

// keyPrefix starts the store key of an inference; no address or outpoint starts so.
const keyPrefix = "d/"

// Key is the store key of the inference about addr.
func Key(addr string) string { return keyPrefix + addr }

// Label is the label a stored inference gives its address: the exchange's deposit address,
// with the forward that showed it as evidence.
func Label(t rules.Taint) rules.Label {
	l := rules.Label{Category: rules.CategoryExchangeDeposit, Entity: t.Source.Entity,
		List: List}
	if n := len(t.Path); n > 0 {
		l.Evidence = t.Path[n-1].Tx
	}
	return l
}

// Options configure an Inferrer.
type Options struct {
	// Window is how long after value arrived at an address its forward to an exchange
	// still shows a deposit address (between block times).
	Window time.Duration
	// Tolerance is, per asset (chains.AssetNative or a token's address), how much less
	// than what arrived the forward may be, in base units. An asset not named must be
	// forwarded in full, except the chain's coin (DefaultNativeTolerance).
	Tolerance map[string]*big.Int
	// MaxReceipts bounds the arrivals remembered.
	MaxReceipts int
}

func (o *Options) setDefaults() {
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	if o.MaxReceipts == 0 {
		o.MaxReceipts = DefaultMaxReceipts
	}
	if _, ok := o.Tolerance[chains.AssetNative]; !ok {
		t := make(map[string]*big.Int, len(o.Tolerance)+1)
		for k, v := range o.Tolerance {
			t[k] = v
		}
		t[chains.AssetNative] = big.NewInt(DefaultNativeTolerance)
		o.Tolerance = t
	}
}

// Validate reports the first invalid option, naming it.
func (o *Options) Validate() error {
	switch {
	case o.Window < 0:
		return fmt.Errorf("window %s: want more than 0", o.Window)
	case o.MaxReceipts < 1 || o.MaxReceipts > MaxMaxReceipts:
		return fmt.Errorf("max_receipts %d: want 1 to %d", o.MaxReceipts, MaxMaxReceipts)
	}
	for asset, t := range o.Tolerance {
		if t == nil || t.Sign() < 0 {
			return fmt.Errorf("tolerance %s: want 0 or more", asset)
		}
	}
	return nil
}

// View is what the Inferrer reads about addresses: watched sources, and labels (those
// inferred before included: the caller reads them under Key of the transfer's sender and
// receiver, the only addresses Observe asks about).
type View interface {
	Source(addr string) (rules.Source, bool)
	Label(addr string) (rules.Label, bool)
}

// QuietView is a View that can say of an address, cheaply, that it is neither watched nor
// labelled (an inferred label included). Observe, which asks about the receiver of every
// transfer, asks Quiet first when its View has it; false means only that Source and Label
// must answer.
type QuietView interface {
	View
	Quiet(addr string) bool
}

// Inferrer infers deposit addresses on one chain. See the package documentation.
type Inferrer struct {
	opts     Options
	receipts *table
	pruned   int64 // the limit the receipts were last pruned to
	latest   int64 // the block time of the last transfer observed, Unix seconds
	// What Prefetch read ahead for: the transfers (see ahead), the next of them for
	// Observe, the index entries read (scratch), and their sum, kept so that the reads
	// are not optimized away.
	ahead  []ahead
	next   int
	probes []probe
	sink   uint64
}

// receipt is what arrived at an address of an asset since it last paid any of it. It is
// kept small: a chain's traffic fills a window of them.
type receipt struct {
	slot
	tag, seq uint64  // in the table: the slot's tag in the index, the place in the queue
	last     big.Int // the last arrival's amount
	sum      big.Int // all arrivals' since the address last paid
	// The last arrival: its movement (transaction and position), block and sender.
	tx, pos, from string
	block         uint64
	when          int64 // block time, Unix seconds
	// paid is the payment that ended what arrived (tx "": none yet); the next arrival
	// starts again.
	paidTx, paidPos string
	dead            bool // forgotten: the table's queue holds it until its head passes
}

// by says whether the last arrival was m.
func (r *receipt) by(m *chains.Movement) bool { return r.tx == m.Tx && r.pos == m.Position }

// paidBy says whether m is the payment that ended what arrived.
func (r *receipt) paidBy(m *chains.Movement) bool {
	return r.paidTx == m.Tx && r.paidPos == m.Position
}

// New returns an Inferrer.
func New(opts Options) (*Inferrer, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Inferrer{opts: opts, receipts: newTable()}, nil
}

// Observe looks at one movement, in chain order. It returns the inference that the
// movement shows, if it does: taint to store under Key(sender).
func (in *Inferrer) Observe(m *chains.Movement, v View) (rules.NewTaint, bool) {
	a, ok := in.transfer(m)
	if !ok {
		return rules.NewTaint{}, false
	}
	from, to := a.from, a.to
	in.latest = m.Block.Time.Unix()
	// A movement of the same block time as the last prunes nothing more: what arrived
	// since then arrived at that time.
	if limit := m.Block.Time.Add(-in.opts.Window).Unix(); limit != in.pruned {
		in.receipts.prune(limit)
		in.pruned = limit
	}
	asset, amount := to.Asset, to.Amount
	fh, th := a.fh, a.th
	// The receiver: an exchange's (an arrival there may show a deposit address), or
	// watched or labelled otherwise (an arrival there is no deposit's), or neither.
	var label rules.Label
	labelled, watched := false, false
	if qv, ok := v.(QuietView); !ok || !qv.Quiet(to.Address) {
		if label, labelled = v.Label(to.Address); !labelled {
			_, watched = v.Source(to.Address)
		}
	}

	var nt rules.NewTaint
	found := false
	if r, _ := in.receipts.lookup(slot{from.Address, asset}, fh); r != nil && (r.paidTx == "" ||
		r.paidBy(m)) {
		// Any payment ends what arrived before (a deposit address forwards it all); it is
		// kept, marked, for a reorg that removes the payment. The same payment judged
		// again (after a failure) is judged as the first time.
		r.paidTx, r.paidPos = m.Tx, m.Position
		if labelled && label.Category == rules.CategoryExchange && in.matches(r, asset, amount) {
			if _, ok := v.Label(from.Address); !ok {
				if _, watched := v.Source(from.Address); !watched {
					nt, found = in.inference(m, r, to, label), true
				}
			}
		}
	}
	if !labelled && !watched {
		in.arrive(slot{to.Address, asset}, th, m, from.Address, amount)
	}
	return nt, found
}

// matches says whether amount forwards what r holds: the last arrival, or all since the
// address last paid, less at most the asset's tolerance.
func (in *Inferrer) matches(r *receipt, asset string, amount *big.Int) bool {
	tol := in.opts.Tolerance[asset]
	for _, got := range []*big.Int{&r.last, &r.sum} {
		diff := new(big.Int).Sub(got, amount)
		if diff.Sign() >= 0 && (diff.Sign() == 0 || tol != nil && diff.Cmp(tol) <= 0) {
			return true
		}
	}
	return false
}

func (in *Inferrer) inference(m *chains.Movement, r *receipt, to *chains.Leg,
	l rules.Label) rules.NewTaint {
	fwd := rules.HopOf(m, m.Inputs[0].Address, *to)
	arrived := rules.Hop{Chain: m.Chain, Block: r.block, Time: time.Unix(r.when, 0).UTC(),
		Tx:       r.tx,
		Position: r.pos, From: r.from, To: fwd.From, Asset: fwd.Asset,
		Amount: new(big.Int).Set(&r.last)}
	return rules.NewTaint{Address: Key(fwd.From), Taint: rules.Taint{Root: to.Address,
		Source: rules.Source{Entity: l.Entity, Category: l.Category, List: l.List},
		Path:   []rules.Hop{arrived, fwd}, By: m.Key()}}
}

// arrive remembers that amount arrived at s, hashed h, by m, once per movement (a batch
// judged again after a failure does not count twice what it counted last).
func (in *Inferrer) arrive(s slot, h uint64, m *chains.Movement, from string,
	amount *big.Int) {
	r, at := in.receipts.lookup(s, h)
	if r != nil && r.by(m) {
		return
	}
	if r != nil && r.paidTx != "" { // what it paid ended; this arrival starts again
		in.receipts.remove(r)
		r, at = in.receipts.lookup(s, h)
	}
	r = in.receipts.push(s, at, r)
	r.last.Set(amount)
	r.sum.Add(&r.sum, amount)
	r.tx, r.pos, r.from, r.block, r.when = m.Tx, m.Position, from, m.Block.Number,
		m.Block.Time.Unix()
	in.receipts.trim(in.opts.MaxReceipts)
}

// Forget takes back what a movement that a reorg removed did: its arrival is forgotten,
// and what its payment ended arrives again (the payment may be mined again).
func (in *Inferrer) Forget(m *chains.Movement) {
	from, to, ok := m.Transfer()
	if !ok {
		return
	}
	if r, _ := in.receipts.get(slot{from.Address, from.Asset}); r != nil && r.paidBy(m) {
		r.paidTx, r.paidPos = "", ""
	}
	if r, _ := in.receipts.get(slot{to.Address, to.Asset}); r != nil && r.by(m) &&
		r.paidTx == "" {
		in.receipts.remove(r)
	}
}

// Len is how many addresses' arrivals the Inferrer remembers (those a payment ended
// included, until they leave the window).
func (in *Inferrer) Len() int { return in.receipts.live }

// Capacity is how many addresses' arrivals the Inferrer remembers at most
// (Options.MaxReceipts).
func (in *Inferrer) Capacity() int { return in.opts.MaxReceipts }

// Reach is the block time between the oldest arrival remembered and the last transfer
// observed: the window that inference has in effect, at most Window (shorter when
// MaxReceipts forgets first). It is 0 when none is remembered.
func (in *Inferrer) Reach() time.Duration {
	r := in.receipts.oldest()
	if r == nil {
		return 0
	}
	return time.Duration(in.latest-r.when) * time.Second
}
