package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"time"

	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func main() {
	n := flag.Int("n", 10_000_000, "addresses")
	lookups := flag.Int("lookups", 2_000_000, "lookups timed")
	flag.Parse()
	keys := make([][20]byte, *n)
	if _, err := rand.Read(keys[0][:]); err != nil { // touch: fail early without entropy
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rng := mrand.NewChaCha8([32]byte{1})
	for i := range keys {
		_, _ = rng.Read(keys[i][:])
	}
	// What is looked up: half present, half not.
	probeKeys := make([][20]byte, *lookups)
	probeHex := make([]string, *lookups)
	r := mrand.New(mrand.NewPCG(3, 4))
	for i := range probeKeys {
		if i%2 == 0 {
			probeKeys[i] = keys[r.IntN(len(keys))]
		} else {
			_, _ = rng.Read(probeKeys[i][:])
		}
		probeHex[i] = "0x" + hex.EncodeToString(probeKeys[i][:])
	}

	base := heap()
	bare := map[[20]byte]struct{}{}
	for _, k := range keys {
		bare[k] = struct{}{}
	}
	bareBytes := float64(heap()-base) / float64(*n)
	hits := 0
	t0 := time.Now()
	for _, k := range probeKeys {
		if _, ok := bare[k]; ok {
			hits++
		}
	}
	bareNs := float64(time.Since(t0).Nanoseconds()) / float64(len(probeKeys))
	// The same map given what the watcher holds: the normalized hex string, decoded.
	hits = 0
	t0 = time.Now()
	for _, a := range probeHex {
		var k [20]byte
		if _, err := hex.Decode(k[:], []byte(a[2:])); err != nil {
			panic(err)
		}
		if _, ok := bare[k]; ok {
			hits++
		}
	}
	bareHexNs := float64(time.Since(t0).Nanoseconds()) / float64(len(probeHex))
	// Reading and decoding the strings alone, without a map.
	var sink byte
	t0 = time.Now()
	for _, a := range probeHex {
		var k [20]byte
		if _, err := hex.Decode(k[:], []byte(a[2:])); err != nil {
			panic(err)
		}
		sink ^= k[0]
	}
	decodeNs := float64(time.Since(t0).Nanoseconds()) / float64(len(probeHex))
	bare = nil
	base = heap()

	lists := watchlist.New()
	entities := make([]rules.Source, 100)
	for i := range entities {
		entities[i] = rules.Source{Entity: fmt.Sprintf("entity %d", i), Category: "sanctioned",
			List: "bench"}
	}
	t0 = time.Now()
	for i, k := range keys {
		lists.AddSource("ethereum", "0x"+hex.EncodeToString(k[:]), entities[i%len(entities)])
	}
	load := time.Since(t0)
	listBytes := float64(heap()-base) / float64(*n)
	hits2 := 0
	t0 = time.Now()
	for _, a := range probeHex {
		if _, ok := lists.Source("ethereum", a); ok {
			hits2++
		}
	}
	listNs := float64(time.Since(t0).Nanoseconds()) / float64(len(probeHex))
	if hits != hits2 {
		fmt.Fprintf(os.Stderr, "listsbench: %d hits in the bare map, %d in the lists\n", hits,
			hits2)
		os.Exit(1)
	}
	// Everything measured around stays live until here, so that no heap reading is lowered
	// by an input freed in between.
	runtime.KeepAlive(lists)
	runtime.KeepAlive(keys)
	runtime.KeepAlive(probeKeys)
	runtime.KeepAlive(sink)
	fmt.Printf("addresses %d lookups %d (%d hits)\n", *n, len(probeHex), hits)
	fmt.Printf("bare map[[20]byte]struct{}: %.1f bytes/address, %.1f ns/lookup of the 20 bytes, "+
		"%.1f ns/lookup of the hex string (decoded first; the decoding alone %.1f ns)\n",
		bareBytes, bareNs, bareHexNs, decodeNs)
	fmt.Printf("watchlist.Lists:            %.1f bytes/address, %.1f ns/lookup (hex string), "+
		"loaded in %v (%.0f ns/address)\n", listBytes, listNs, load.Round(time.Millisecond),
		float64(load.Nanoseconds())/float64(*n))
	fmt.Printf("ratio: memory %.2f (goal <= 1.2); time %.2f against the bare map given the same "+
		"hex strings, %.2f against it given decoded bytes (goal <= 2)\n",
		listBytes/bareBytes, listNs/bareHexNs, listNs/bareNs)
}
