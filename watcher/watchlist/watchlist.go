package watchlist

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// Lists are the loaded sources and labels, per chain and normalized address, each with the
// interval it is valid in: a designation starts and may end (Tornado Cash left the SDN list
// on 2025-03-21), and a movement is judged by what was valid at its block time.
type Lists struct {
	sources map[string]*index // by chain
	labels  map[string]*index
	srcVals table[dated[rules.Source]]
	lblVals table[dated[rules.Label]]
	// multi holds the value ids of addresses that more than one entry names (one address
	// in several files, or designated twice): an index id with multiBit set points here.
	multi [][]uint32
	// version identifies the content (Version).
	version uint64
}

// versions numbers the states of all Lists in the process: a new Lists and every change
// to one takes the next number, so no two states share one.
var versions atomic.Uint64

// dated is a value with its validity; zero times are open ends.
type dated[V comparable] struct {
	V        V
	From, To time.Time
}

func (d *dated[V]) validAt(at time.Time) bool {
	return at.IsZero() || ((d.From.IsZero() || !at.Before(d.From)) &&
		(d.To.IsZero() || at.Before(d.To)))
}

const multiBit = 1 << 31

// New returns empty lists.
func New() *Lists {
	return &Lists{sources: map[string]*index{}, labels: map[string]*index{},
		version: versions.Add(1)}
}

// Version identifies what the lists hold: it changes with every entry added, and no other
// Lists in the process ever has it. A cache of what the lists say keeps it to know when to
// start again.
func (l *Lists) Version() uint64 { return l.version }

// Source returns a designation of a watched address, whenever valid.
func (l *Lists) Source(chain, addr string) (rules.Source, bool) {
	return l.SourceAt(chain, addr, time.Time{})
}

// SourceAt returns the designation of a watched address valid at time at.
func (l *Lists) SourceAt(chain, addr string, at time.Time) (rules.Source, bool) {
	return lookup(l, l.sources[chain], &l.srcVals, addr, at)
}

// Label returns what an address is, whenever valid.
func (l *Lists) Label(chain, addr string) (rules.Label, bool) {
	return l.LabelAt(chain, addr, time.Time{})
}

// LabelAt returns what an address was at time at.
func (l *Lists) LabelAt(chain, addr string, at time.Time) (rules.Label, bool) {
	return lookup(l, l.labels[chain], &l.lblVals, addr, at)
}

// Listed says whether the lists name addr on chain, as a source or with a label, at any
// time.
func (l *Lists) Listed(chain, addr string) bool {
	k, isEVM := evmKey(addr)
	for _, x := range [2]*index{l.sources[chain], l.labels[chain]} {
		if x == nil {
			continue
		}
		if _, ok := x.getKey(k, isEVM, addr); ok {
			return true
		}
	}
	return false
}

// EachListed calls fn with every address the lists name on chain, as a source or with a
// label, at any time (an address named by both may come twice), in the normalized form
// Listed takes.
func (l *Lists) EachListed(chain string, fn func(addr string)) {
	for _, x := range [2]*index{l.sources[chain], l.labels[chain]} {
		if x != nil {
			x.each(fn)
		}
	}
}

func lookup[V comparable](l *Lists, x *index, t *table[dated[V]], addr string,
	at time.Time) (V, bool) {
	var zero V
	if x == nil {
		return zero, false
	}
	id, ok := x.get(addr)
	if !ok {
		return zero, false
	}
	ids := []uint32{id}
	if id&multiBit != 0 {
		ids = l.multi[id&^multiBit]
	}
	for _, id := range ids {
		if v := &t.vals[id]; v.validAt(at) {
			return v.V, true
		}
	}
	return zero, false
}

// Dated is a list value with the interval it is valid in (zero times: open ends).
type Dated[V any] struct {
	V        V
	From, To time.Time
}

// Describe returns every designation and label the lists hold for addr on chain, whenever
// valid, in the order they were added.
func (l *Lists) Describe(chain, addr string) ([]Dated[rules.Source], []Dated[rules.Label]) {
	return describe(l, l.sources[chain], &l.srcVals, addr),
		describe(l, l.labels[chain], &l.lblVals, addr)
}

func describe[V comparable](l *Lists, x *index, t *table[dated[V]], addr string) []Dated[V] {
	if x == nil {
		return nil
	}
	id, ok := x.get(addr)
	if !ok {
		return nil
	}
	ids := []uint32{id}
	if id&multiBit != 0 {
		ids = l.multi[id&^multiBit]
	}
	out := make([]Dated[V], 0, len(ids))
	for _, id := range ids {
		v := &t.vals[id]
		out = append(out, Dated[V]{V: v.V, From: v.From, To: v.To})
	}
	return out
}

// Len returns the number of sources and labels.
func (l *Lists) Len() (sources, labels int) {
	for _, x := range l.sources {
		sources += x.len()
	}
	for _, x := range l.labels {
		labels += x.len()
	}
	return sources, labels
}

// AddSource adds a watched address (already normalized), valid at all times.
func (l *Lists) AddSource(chain, addr string, s rules.Source) {
	l.addSource(chain, addr, dated[rules.Source]{V: s})
}

// AddLabel adds a labelled address (already normalized), valid at all times.
func (l *Lists) AddLabel(chain, addr string, lb rules.Label) {
	l.addLabel(chain, addr, dated[rules.Label]{V: lb})
}

func (l *Lists) addSource(chain, addr string, v dated[rules.Source]) {
	if l.sources[chain] == nil {
		l.sources[chain] = newIndex()
	}
	l.put(l.sources[chain], addr, l.srcVals.id(v))
}

func (l *Lists) addLabel(chain, addr string, v dated[rules.Label]) {
	if l.labels[chain] == nil {
		l.labels[chain] = newIndex()
	}
	l.put(l.labels[chain], addr, l.lblVals.id(v))
}

// put records that addr has value id, beside the values it already has.
func (l *Lists) put(x *index, addr string, id uint32) {
	l.version = versions.Add(1)
	old, ok := x.get(addr)
	switch {
	case !ok:
		x.put(addr, id)
	case old&multiBit != 0:
		ids := l.multi[old&^multiBit]
		if !slices.Contains(ids, id) {
			l.multi[old&^multiBit] = append(ids, id)
		}
	case old != id:
		l.multi = append(l.multi, []uint32{old, id})
		x.put(addr, uint32(len(l.multi)-1)|multiBit)
	}
}

// ChainInfo says how to validate a chain's addresses: its family and network.
type ChainInfo func(chain string) (family chains.Family, network string, ok bool)

// KnownChains are the chain names lists use (OFAC assets, TagPack currencies and the
// multi-chain lists map to these). A CSV row on one of them that the config does not follow
// is left out; a row on any other name is rejected as a likely typo.
var KnownChains = map[string]bool{
	ChainBitcoin: true, ChainEthereum: true, ChainTron: true, "arbitrum": true, "bsc": true,
	"bnb-beacon": true, "ethereum-classic": true, "optimism": true, "polygon": true,
	"gnosis": true, "avalanche": true, "litecoin": true, "bitcoin-cash": true,
	"bitcoin-sv": true, "bitcoin-gold": true, "dash": true, "verge": true, "zcash": true,
	"monero": true, "xrp": true, "solana": true,
}

var errNotFollowed = errors.New("a chain the config does not follow")

// csvHeader is the CSV format: role is "source" or "label"; dates are YYYY-MM-DD or empty.
var csvHeader = []string{"chain", "address", "role", "category", "entity", "source",
	"valid_from", "valid_to"}

// LoadCSV adds the entries of a CSV list to l. It returns one error per rejected line
// ("file:line: reason"); the other lines are loaded. A missing or wrong header is one error
// and loads nothing.
func (l *Lists) LoadCSV(name string, r io.Reader, info ChainInfo) []error {
	entries, rejected, err := ReadCSV(name, r, info)
	if err != nil {
		return []error{err}
	}
	l.Add(entries...)
	errs := make([]error, len(rejected))
	for i := range rejected {
		errs[i] = &rejected[i]
	}
	return errs
}

// ReadCSV reads a CSV list: its entries and the lines it rejects, with their reasons. err
// is for a file that is not such a list (a missing or wrong header).
func ReadCSV(name string, r io.Reader, info ChainInfo) ([]Entry, []Rejection, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	head, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: read header: %w", name, err)
	}
	for i := range head {
		head[i] = strings.TrimSpace(head[i])
	}
	if strings.Join(head, ",") != strings.Join(csvHeader, ",") {
		return nil, nil, fmt.Errorf("%s:1: header %q, want %q", name, strings.Join(head, ","),
			strings.Join(csvHeader, ","))
	}
	var entries []Entry
	var rejected []Rejection
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return entries, rejected, nil
		}
		var line int
		var pe *csv.ParseError
		switch {
		case err == nil:
			line, _ = cr.FieldPos(0)
		case errors.As(err, &pe):
			line = pe.StartLine // FieldPos would panic: the record has no fields
		}
		if err == nil {
			var e Entry
			if e, err = csvEntry(rec, info); err == nil {
				e.Origin.File, e.Origin.Line = name, line
				entries = append(entries, e)
				continue
			}
			if errors.Is(err, errNotFollowed) {
				continue // a chain the config does not follow, as with the other formats
			}
		}
		addr := ""
		if len(rec) > 1 {
			addr = rec[1]
		}
		rejected = append(rejected, Rejection{File: name, Line: line, Address: addr,
			Reason: err.Error()})
	}
}

func csvEntry(rec []string, info ChainInfo) (Entry, error) {
	if len(rec) != len(csvHeader) {
		return Entry{}, fmt.Errorf("%d fields, want %d", len(rec), len(csvHeader))
	}
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
	}
	chain, role, category, entity, origin := rec[0], rec[2], rec[3], rec[4], rec[5]
	family, network, ok := info(chain)
	if !ok {
		if KnownChains[chain] {
			return Entry{}, errNotFollowed
		}
		return Entry{}, fmt.Errorf("chain %q is not configured (nor a chain lists name)",
			chain)
	}
	addr, err := chains.NormalizeAddress(family, network, rec[1])
	if err != nil {
		return Entry{}, err
	}
	if category == "" {
		return Entry{}, errors.New("category: empty")
	}
	var dates [2]time.Time
	for i, d := range rec[6:8] {
		if d != "" {
			if dates[i], err = time.Parse(time.DateOnly, d); err != nil {
				return Entry{}, fmt.Errorf("date %q: want YYYY-MM-DD", d)
			}
		}
	}
	if role != RoleSource && role != RoleLabel {
		return Entry{}, fmt.Errorf("role %q: want source or label", role)
	}
	return Entry{Chain: chain, Address: addr, Role: role, Category: category, Entity: entity,
		ValidFrom: dates[0], ValidTo: dates[1], Origin: Origin{List: origin}}, nil
}
