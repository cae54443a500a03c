package deposit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/internal/redistest"
)

// benchRegistered is how many deposit addresses BenchmarkRegistrySync registers: a
// mid-sized exchange's.
const benchRegistered = 100_000

// BenchmarkRegistrySync measures, with benchRegistered addresses registered in Redis, a
// Sync after another process registered one more (what every process does after each
// registration an exchange makes), next to a first Sync, which reads every registration
// (what each such Sync cost when the registry had no change stream), timed in the same
// run: x-full is how many times faster the former is.
func BenchmarkRegistrySync(b *testing.B) {
	ctx := context.Background()
	rdb, prefix := redistest.New(b)
	writer := NewRegistry(rdb, prefix)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	reg := func(i int) Registration {
		return Registration{Chain: "ethereum", Address: fmt.Sprintf("0x%040x", i),
			Customer: fmt.Sprint("customer-", i), At: at}
	}
	var regs []Registration
	for i := range benchRegistered {
		if regs = append(regs, reg(i)); len(regs) == 5_000 {
			if err := writer.Put(ctx, regs...); err != nil {
				b.Fatal(err)
			}
			regs = regs[:0]
		}
	}
	full := func() time.Duration {
		start := time.Now()
		r := NewRegistry(rdb, prefix)
		if err := r.Sync(ctx); err != nil || r.Len() < benchRegistered {
			b.Fatalf("full sync: %v, %d registered", err, r.Len())
		}
		return time.Since(start)
	}
	var took time.Duration
	for range 3 {
		took += full()
	}
	reader := NewRegistry(rdb, prefix)
	if err := reader.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	next := benchRegistered
	for b.Loop() {
		b.StopTimer()
		if err := writer.Put(ctx, reg(next)); err != nil {
			b.Fatal(err)
		}
		next++
		b.StartTimer()
		if err := reader.Sync(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if reader.Len() != next {
		b.Fatalf("%d registered after the syncs, want %d", reader.Len(), next)
	}
	perOp := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(took/3)/float64(perOp), "x-full")
	b.ReportMetric(float64(took/3)/1e6, "full-ms")
}
