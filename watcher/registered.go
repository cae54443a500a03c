package watcher

import (
	"sync"
	"time"

	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// WithRegistry is Lists with the deposit addresses exchanges registered as labels
// (deposit.Registration.Label): the rules take them for exchange deposit addresses, so that
// watched funds arriving at one alert naming its customer. A label from the lists wins.
type WithRegistry struct {
	Lists    Lists
	Registry *deposit.Registry

	mu           sync.Mutex
	lastL, lastR uint64
	gen          uint64
}

var _ Lists = (*WithRegistry)(nil)

// SourceAt implements Lists.
func (w *WithRegistry) SourceAt(chain, addr string, at time.Time) (rules.Source, bool) {
	return w.Lists.SourceAt(chain, addr, at)
}

// LabelAt implements Lists.
func (w *WithRegistry) LabelAt(chain, addr string, at time.Time) (rules.Label, bool) {
	if l, ok := w.Lists.LabelAt(chain, addr, at); ok {
		return l, true
	}
	if g, ok := w.Registry.Get(chain, addr); ok {
		return g.Label(), true
	}
	return rules.Label{}, false
}

// EachListed implements Lists: the lists' addresses and the registered ones.
func (w *WithRegistry) EachListed(chain string, fn func(addr string)) {
	w.Lists.EachListed(chain, fn)
	w.Registry.Each(chain, fn)
}

// Version implements Lists: it changes whenever the lists' or the registry's does.
func (w *WithRegistry) Version() uint64 {
	l, r := w.Lists.Version(), w.Registry.Version()
	w.mu.Lock()
	defer w.mu.Unlock()
	if l != w.lastL || r != w.lastR {
		w.lastL, w.lastR = l, r
		w.gen++
	}
	return w.gen
}
