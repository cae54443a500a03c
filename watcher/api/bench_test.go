package api

import (
	"context"
	"encoding/hex"
	"math/big"
	mrand "math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/rules"
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

// BenchmarkScreen measures screening one address in process (normalize, lists, the five
// store keys of the address, registry, risk, the report) with benchTracked tracked
// addresses in memory, for a mix of 95% addresses nothing is known of and 5% tracked,
// beside "bare": one lookup of each address in a map of the same tracked addresses.
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
	for i := range tracked {
		a := addr()
		tracked[i] = a
		bare[a] = struct{}{}
		store[a] = rules.Taint{Root: root, Source: src, Path: []rules.Hop{{Tx: "0x01",
			From: root, To: a, Asset: "native", Amount: big.NewInt(1e18)}}}
	}
	probes := make([]string, 100_000)
	for i := range probes {
		probes[i] = addr()
		if rng.IntN(100) < 5 {
			probes[i] = tracked[rng.IntN(len(tracked))]
		}
	}
	s, err := NewScreener(map[string]Chain{"ethereum": {Family: chains.FamilyEVM}}, lists,
		store, deposit.NewRegistry(nil, ""), RiskOptions{}, func() time.Time {
			return time.Unix(1.7e9, 0)
		})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	b.Run("bare", func(b *testing.B) {
		hits := 0
		for i := 0; b.Loop(); i++ {
			if _, ok := bare[probes[i%len(probes)]]; ok {
				hits++
			}
		}
		b.ReportMetric(float64(hits)/float64(b.N), "hits/op")
	})
	b.Run("screen", func(b *testing.B) {
		ctx := context.Background()
		hits := 0
		for i := 0; b.Loop(); i++ {
			rs, err := s.Screen(ctx, "ethereum", probes[i%len(probes)])
			if err != nil {
				b.Fatal(err)
			}
			if rs[0].Risk != RiskNone {
				hits++
			}
		}
		b.ReportMetric(float64(hits)/float64(b.N), "hits/op")
	})
}
