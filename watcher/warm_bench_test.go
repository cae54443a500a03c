package watcher

import (
	"context"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/queue"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// BenchmarkWarm measures what a worker that comes to own a chain spends readying its
// learners (deposit inference and a fan-in rule's tracker) from the movements judged
// before: entries of 256 transfers each, judged and acknowledged, read back from a real
// Redis stream, decoded and learnt (warm), beside "read", the same entries only read back
// from Redis (Judged, page by page, their payloads unpacked), in the same run. It reports
// movements/s and, for warm, its ratio to read ("x-read"): what learning adds to the
// round trips a warm cannot avoid. At the defaults a warm reads up to 2,048 entries.
func BenchmarkWarm(b *testing.B) {
	const entries, perEntry = 128, queue.MaxEntryPayloads
	ctx := context.Background()
	e := newWorkerEnv(b)
	e.rules = append(e.rules, rules.Rule{Name: "fan-in", Severity: "high",
		Pattern: rules.PatternFanIn, Count: 3, Window: 24 * time.Hour})
	tip := queue.Tip{}
	for n := uint64(1); n <= entries; n++ {
		rec := queue.Record{Number: n, Hash: fmt.Sprintf("0x%064x", n), ParentHash: tip.Hash}
		for i := range perEntry {
			k := int(n)*perEntry + i
			m := chains.Movement{Chain: "c", Tx: fmt.Sprintf("0x%064x", k),
				Position: chains.PositionTx, Kind: chains.KindNative,
				Block: chains.BlockRef{Number: n, Hash: rec.Hash, ParentHash: tip.Hash,
					Time: time.Unix(1.7e9+int64(n)*12, 0).UTC()},
				Inputs: []chains.Leg{{Address: fmt.Sprintf("0xa%039x", k%5000),
					Asset: chains.AssetNative, Amount: big.NewInt(int64(k))}},
				Outputs: []chains.Leg{{Address: fmt.Sprintf("0xb%039x", k),
					Asset: chains.AssetNative, Amount: big.NewInt(int64(k))}}}
			p, err := chains.MarshalMovement(&m)
			if err != nil {
				b.Fatal(err)
			}
			rec.Payloads = append(rec.Payloads, p)
		}
		if err := e.q.Append(ctx, "c", tip, rec, 4); err != nil {
			b.Fatal(err)
		}
		tip = rec.Tip()
	}
	for {
		msgs, err := e.q.Read(ctx, "c", "bench", 64, time.Millisecond)
		if err != nil {
			b.Fatal(err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			if err := e.q.Ack(ctx, "c", m.ID); err != nil {
				b.Fatal(err)
			}
		}
	}
	w, err := NewWorker(e.q, e.q, e.lists, e.store, e.rules, e.sink, WorkerOptions{
		Name: "bench", Chains: []string{"c"}, ClaimIdle: time.Minute,
		Deposits: map[string]deposit.Options{"c": {}}})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.prepare(ctx, "c"); err != nil {
		b.Fatal(err)
	}
	rate := func(b *testing.B) {
		b.ReportMetric(float64(b.N*entries*perEntry)/b.Elapsed().Seconds(), "movements/s")
	}
	var read float64
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			n := 0
			for before := ""; ; {
				msgs, err := e.q.Judged(ctx, "c", before, DefaultWorkerBatch)
				if err != nil {
					b.Fatal(err)
				}
				if len(msgs) == 0 {
					break
				}
				for _, m := range msgs {
					n += len(m.Payloads)
				}
				before = msgs[len(msgs)-1].ID
			}
			if n != entries*perEntry {
				b.Fatalf("read %d movements, want %d", n, entries*perEntry)
			}
		}
		rate(b)
		read = float64(b.N*entries*perEntry) / b.Elapsed().Seconds()
	})
	b.Run("warm", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			if err := w.learnAfresh("c"); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := w.warm(ctx, "c"); err != nil {
				b.Fatal(err)
			}
		}
		if n := w.senders["c"].Len(); n != entries*perEntry {
			b.Fatalf("the tracker remembers %d payments, want %d", n, entries*perEntry)
		}
		rate(b)
		if read > 0 {
			b.ReportMetric(float64(b.N*entries*perEntry)/b.Elapsed().Seconds()/read, "x-read")
		}
	})
}
