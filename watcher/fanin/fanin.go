package fanin

import (
	"fmt"
	"time"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/internal/evict"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// Defaults for Options.
const (
	DefaultWindow       = 30 * 24 * time.Hour
	DefaultMaxAddresses = 1 << 18
	DefaultMaxSenders   = 32
)

// Options configure a Tracker.
type Options struct {
	// Window is how long a payment counts.
	Window time.Duration
	// MaxAddresses bounds the receivers remembered.
	MaxAddresses int
	// MaxSenders bounds the distinct senders remembered per receiver (the latest kept).
	MaxSenders int
}

func (o *Options) setDefaults() {
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	if o.MaxAddresses == 0 {
		o.MaxAddresses = DefaultMaxAddresses
	}
	if o.MaxSenders == 0 {
		o.MaxSenders = DefaultMaxSenders
	}
}

// Validate reports the first invalid option, naming it.
func (o *Options) Validate() error {
	switch {
	case o.Window < 0:
		return fmt.Errorf("window %s: want more than 0", o.Window)
	case o.MaxAddresses < 1:
		return fmt.Errorf("max_addresses %d: want at least 1", o.MaxAddresses)
	case o.MaxSenders < 1:
		return fmt.Errorf("max_senders %d: want at least 1", o.MaxSenders)
	}
	return nil
}

// Tracker remembers who paid whom lately on one chain. See the package documentation.
type Tracker struct {
	opts  Options
	recv  map[string]*inbox
	order evict.Queue[string] // receivers by their last payment
}

// inbox is a receiver's latest payments, one per sender, oldest first.
type inbox struct {
	hops  []rules.Hop
	stamp int64
}

// New returns a Tracker.
func New(opts Options) (*Tracker, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Tracker{opts: opts, recv: map[string]*inbox{}}, nil
}

// Observe notes a movement, in chain order: a transfer with value from one address to
// another (Bitcoin transactions and event movements are not counted).
func (tr *Tracker) Observe(m *chains.Movement) {
	sender, o, ok := m.Transfer()
	if !ok || m.Removed {
		return
	}
	from := sender.Address
	in := tr.recv[o.Address]
	if in == nil {
		in = &inbox{}
		tr.recv[o.Address] = in
	}
	for i, h := range in.hops { // one per sender: the latest
		if h.From == from {
			if h.Tx == m.Tx && h.Position == m.Position {
				return // the same movement again (a batch judged again)
			}
			in.hops = append(in.hops[:i], in.hops[i+1:]...)
			break
		}
	}
	in.hops = append(in.hops, rules.HopOf(m, from, *o))
	if len(in.hops) > tr.opts.MaxSenders {
		in.hops = in.hops[len(in.hops)-tr.opts.MaxSenders:]
	}
	in.stamp = tr.order.Touch(o.Address, 0)
	for len(tr.recv) > tr.opts.MaxAddresses {
		tr.dropOldest()
	}
}

// Senders returns addr's distinct senders whose latest payment is within the window
// before now, oldest first: the payment hops.
func (tr *Tracker) Senders(addr string, now time.Time) []rules.Hop {
	in := tr.recv[addr]
	if in == nil {
		return nil
	}
	var out []rules.Hop
	for _, h := range in.hops {
		if now.Sub(h.Time) <= tr.opts.Window {
			out = append(out, h)
		}
	}
	return out
}

// Forget takes back a movement that a reorg removed.
func (tr *Tracker) Forget(m *chains.Movement) {
	if len(m.Outputs) != 1 {
		return
	}
	in := tr.recv[m.Outputs[0].Address]
	if in == nil {
		return
	}
	for i, h := range in.hops {
		if h.Tx == m.Tx && h.Position == m.Position {
			in.hops = append(in.hops[:i], in.hops[i+1:]...)
			return
		}
	}
}

// dropOldest forgets the receiver paid longest ago, unless it was paid again since.
func (tr *Tracker) dropOldest() {
	addr, _, stamp, ok := tr.order.Oldest()
	if !ok {
		return
	}
	tr.order.Pop()
	if in := tr.recv[addr]; in != nil && in.stamp == stamp {
		delete(tr.recv, addr)
	}
}

// Len is how many receivers the Tracker remembers.
func (tr *Tracker) Len() int { return len(tr.recv) }
