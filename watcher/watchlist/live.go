package watchlist

import (
	"sync/atomic"
	"time"

	"github.com/flowwatch/flowwatch/watcher/rules"
)

// Live holds the lists in use and lets a reload replace them while workers read: a lookup
// sees the old lists or the new, never a mix. Safe for concurrent use.
type Live struct {
	cur atomic.Pointer[Lists]
}

// NewLive returns a holder of l.
func NewLive(l *Lists) *Live {
	lv := &Live{}
	lv.cur.Store(l)
	return lv
}

// Store puts l in use.
func (lv *Live) Store(l *Lists) { lv.cur.Store(l) }

// SourceAt is Lists.SourceAt on the lists in use.
func (lv *Live) SourceAt(chain, addr string, at time.Time) (rules.Source, bool) {
	return lv.cur.Load().SourceAt(chain, addr, at)
}

// LabelAt is Lists.LabelAt on the lists in use.
func (lv *Live) LabelAt(chain, addr string, at time.Time) (rules.Label, bool) {
	return lv.cur.Load().LabelAt(chain, addr, at)
}

// Listed is Lists.Listed on the lists in use.
func (lv *Live) Listed(chain, addr string) bool { return lv.cur.Load().Listed(chain, addr) }

// EachListed is Lists.EachListed on the lists in use.
func (lv *Live) EachListed(chain string, fn func(addr string)) {
	lv.cur.Load().EachListed(chain, fn)
}

// Version is Lists.Version of the lists in use: it changes when a reload replaces them.
func (lv *Live) Version() uint64 { return lv.cur.Load().Version() }

// Describe is Lists.Describe on the lists in use.
func (lv *Live) Describe(chain, addr string) ([]Dated[rules.Source], []Dated[rules.Label]) {
	return lv.cur.Load().Describe(chain, addr)
}
