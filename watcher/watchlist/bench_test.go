package watchlist

import (
	"encoding/hex"
	mrand "math/rand/v2"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/watcher/rules"
)

// BenchmarkSourceAt looks up hex addresses in lists of a million, half of them present.
// bench/listsbench compares the structure with a bare map at 10 million.
func BenchmarkSourceAt(b *testing.B) {
	rng := mrand.NewChaCha8([32]byte{2})
	l := New()
	var probes []string
	for i := range 1_000_000 {
		var k [20]byte
		_, _ = rng.Read(k[:])
		a := "0x" + hex.EncodeToString(k[:])
		l.AddSource("ethereum", a, rules.Source{Entity: "e", Category: "sanctioned"})
		if i%2 == 0 {
			probes = append(probes, a)
		} else {
			_, _ = rng.Read(k[:])
			probes = append(probes, "0x"+hex.EncodeToString(k[:]))
		}
	}
	at := time.Now()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		l.SourceAt("ethereum", probes[i%len(probes)], at)
	}
}
