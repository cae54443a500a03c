package api

import (
	"context"
	"encoding/hex"
	"math/big"
	mrand "math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

const benchTracked = 1_000_000

// mapStore is the taint store as a bare Go map: what the screener reads, at memory speed
// (the taint store of flowwatch run is Redis; BenchmarkScreen leaves its round trip out).
type mapStore map[string]rules.Taint

func (m mapStore) Taints(_ context.Context, _ string, keys ...string) (map[string]rules.Taint,
	error) {
	out := map[string]rules.Taint{}
	for _, k := range keys {
		if t, ok := m[k]; ok {
			out[k] = t
		}
	}
	return out, nil
}

// BenchmarkScreen measures screening one address in process (normalize, lists, the
// store's keys of the address, registry, risk, the report) with benchTracked tracked
// addresses, beside "bare": one lookup of each address in a Go map of the tracked
// addresses. The probes are 95% addresses nothing is known of and 5% tracked ("mixed"), or
// only the former ("clean"). The store is a Go map ("map-store", no index), or Redis as
// flowwatch run keeps it, alone ("redis") or with the taint index in memory
// ("redis+index": what the API does; the store is asked only about tracked addresses).
func BenchmarkScreen(b *testing.B) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	addr := func() string {
		var a [20]byte
		for i := range a {
			a[i] = byte(rng.IntN(256))
		}
		return "0x" + hex.EncodeToString(a[:])
	}
	src := rules.Source{Entity: "Lazarus Group", Category: "sanctioned", List: "OFAC SDN"}
	root := addr()
	lists := watchlist.New()
	lists.AddSource("ethereum", root, src)
	store := mapStore{}
	bare := map[string]struct{}{}
	tracked := make([]string, benchTracked)
	var batch []rules.NewTaint
	ctx := context.Background()
	rdb, prefix := redistest.New(b)
	rstore := taint.NewRedis(rdb, prefix)
	for i := range tracked {
		a := addr()
		tracked[i] = a
		bare[a] = struct{}{}
		t := rules.Taint{Root: root, Source: src, Path: []rules.Hop{{Tx: "0x01",
			From: root, To: a, Asset: "native", Amount: big.NewInt(1e18)}}}
		store[a] = t
		batch = append(batch, rules.NewTaint{Address: a, Taint: t})
		if len(batch) == 1000 || i == len(tracked)-1 {
			if err := rstore.Apply(ctx, "ethereum", strconv.Itoa(i), batch, nil); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	mixed, clean := make([]string, 100_000), make([]string, 100_000)
	for i := range mixed {
		mixed[i], clean[i] = addr(), addr()
		if rng.IntN(100) < 5 {
			mixed[i] = tracked[rng.IntN(len(tracked))]
		}
	}
	screener := func(st TaintReader) *Screener {
		s, err := NewScreener(map[string]Chain{"ethereum": {Family: chains.FamilyEVM}}, lists,
			st, deposit.NewRegistry(nil, ""), RiskOptions{}, func() time.Time {
				return time.Unix(1.7e9, 0)
			})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	idx := taint.NewIndex(rstore, []string{"ethereum"}, taint.IndexOptions{})
	ictx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- idx.Run(ictx) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(5 * time.Minute); ; {
		if _, known := idx.Holds("ethereum", root); known {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the index was not built in 5 minutes")
		}
		time.Sleep(10 * time.Millisecond) // polling a condition with a deadline
	}
	indexed := screener(rstore)
	indexed.SetIndex(idx)
	run := func(name string, probes []string, screen func(string) string) {
		b.Run(name, func(b *testing.B) {
			hits := 0
			for i := 0; b.Loop(); i++ {
				if screen(probes[i%len(probes)]) != RiskNone {
					hits++
				}
			}
			b.ReportMetric(float64(hits)/float64(b.N), "hits/op")
		})
	}
	with := func(s *Screener) func(string) string {
		return func(a string) string {
			r, err := s.ScreenOne(ctx, "ethereum", a)
			if err != nil {
				b.Fatal(err)
			}
			return r.Risk
		}
	}
	bareLookup := func(a string) string {
		if _, ok := bare[a]; ok {
			return RiskSevere
		}
		return RiskNone
	}
	runtime.GC()
	run("mixed/map-store", mixed, with(screener(store)))
	// What follows runs with the heap of the API process: the tracked addresses are in
	// Redis and the index, not in Go maps the collector scans (but the bare map's).
	store, tracked, batch = nil, nil, nil
	runtime.GC()
	run("mixed/bare", mixed, bareLookup)
	run("mixed/redis", mixed, with(screener(rstore)))
	run("mixed/redis+index", mixed, with(indexed))
	run("clean/bare", clean, bareLookup)
	run("clean/redis+index", clean, with(indexed))
}
