package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"runtime/pprof"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher"
	"github.com/flowwatch/flowwatch/watcher/queue"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

const chain = "bench"

var appendBlocks = 8

func main() {
	url := flag.String("redis", "redis://127.0.0.1:6379", "Redis URL")
	n := flag.Int("movements", 50000, "movements to push through")
	block := flag.Int("block", 100, "movements per block")
	workers := flag.Int("workers", 2, "rules workers")
	addrs := flag.Int("addresses", 20000,
		"addresses the traffic moves among (more: fewer repeats, more taint lookups reach Redis)")
	batch := flag.Int("batch", watcher.DefaultWorkerBatch, "entries per worker read")
	phased := flag.Bool("phased", false,
		"publish everything first, then start the workers (measures each side alone)")
	noAlerts := flag.Bool("no-alerts", false,
		"rule on bridges, which the traffic never reaches: taint spreads, nothing alerts "+
			"(measures what alert delivery costs)")
	queueOnly := flag.Bool("queue-only", false,
		"consumers that only read, decode and acknowledge (the queue alone, no rules)")
	cpuprofile := flag.String("cpuprofile", "",
		"write a CPU profile to this file: of the run, or with -phased of the workers' phase")
	flag.IntVar(&appendBlocks, "append-blocks", appendBlocks,
		"blocks per AppendBlocks call (the poller's catch-up batch)")
	flag.Parse()
	profile := func() error { return nil }
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "pipelinebench:", err)
			os.Exit(1)
		}
		profile = func() error { return pprof.StartCPUProfile(f) }
		defer pprof.StopCPUProfile()
	}
	if err := bench(*url, *n, *block, *addrs, *workers, *batch, *phased, *noAlerts, *queueOnly,
		profile); err != nil {
		fmt.Fprintln(os.Stderr, "pipelinebench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func addr(rng *mrand.Rand) string {
	b := make([]byte, 20)
	for i := range b {
		b[i] = byte(rng.IntN(256))
	}
	return "0x" + hex.EncodeToString(b)
}

func bench(url string, n, blockSize, addrs, workers, batch int, phased, noAlerts,
	queueOnly bool, profile func() error) error {
	ctx := context.Background()
	opts, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	opts.PoolSize = 4 * (workers + 1)
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "fwbench-" + hex.EncodeToString(b)
	defer func() {
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	}()

	// Synthetic traffic: addrs addresses, 100 watched sources, 100 exchanges; 2% of
	// movements leave a source, others move among the rest and to exchanges.
	rng := mrand.New(mrand.NewPCG(1, 2))
	lists := watchlist.New()
	if addrs < 1000 {
		return fmt.Errorf("-addresses %d: want at least 1000", addrs)
	}
	pool := make([]string, addrs)
	for i := range pool {
		pool[i] = addr(rng)
	}
	sources, exchanges := pool[:100], pool[100:200]
	for _, a := range sources {
		lists.AddSource(chain, a, rules.Source{Entity: "bench", Category: "hack"})
	}
	for _, a := range exchanges {
		lists.AddLabel(chain, a, rules.Label{Entity: "exchange", Category: "exchange"})
	}
	var blocks []queue.Record
	entryBytes := 0
	for start := 0; start < n; start += blockSize {
		num := uint64(len(blocks) + 1)
		rec := queue.Record{Number: num, Hash: fmt.Sprintf("0x%064x", num),
			ParentHash: fmt.Sprintf("0x%064x", num-1)}
		for i := start; i < min(start+blockSize, n); i++ {
			from := pool[200+rng.IntN(len(pool)-200)]
			if rng.IntN(50) == 0 {
				from = sources[rng.IntN(len(sources))]
			}
			to := pool[200+rng.IntN(len(pool)-200)]
			if rng.IntN(10) == 0 {
				to = exchanges[rng.IntN(len(exchanges))]
			}
			amount := big.NewInt(rng.Int64N(1e18) + 1)
			m := chains.Movement{Chain: chain, Block: chains.BlockRef{Number: num,
				Hash: rec.Hash, ParentHash: rec.ParentHash, Time: time.Unix(1.7e9, 0).UTC()},
				Tx: fmt.Sprintf("0x%064x", i), Position: chains.PositionTx,
				Kind:    chains.KindNative,
				Inputs:  []chains.Leg{{Address: from, Asset: "native", Amount: amount}},
				Outputs: []chains.Leg{{Address: to, Asset: "native", Amount: amount}}}
			p, err := chains.MarshalMovement(&m)
			if err != nil {
				return err
			}
			rec.Payloads = append(rec.Payloads, p)
			entryBytes += len(p)
		}
		blocks = append(blocks, rec)
	}

	q := queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix})
	defer q.Close()
	store := taint.NewRedis(rdb, prefix)
	// The workers' end of alerting, as flowwatch run has it: the hash-chained alert log
	// (delivery is the dispatcher's, off the workers' path).
	pipeline := alerting.JournalStage{Journal: alerting.NewRedisJournal(rdb, prefix, nil)}
	dest := "exchange"
	if noAlerts {
		dest = "bridge"
	}
	rs := []rules.Rule{{Name: "to-" + dest, Severity: "high",
		Destinations: []string{dest}, MaxHops: 3}}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	g, gctx := errgroup.WithContext(runCtx)
	startWorkers := func() error {
		if queueOnly {
			g.Go(func() error { return consume(gctx, q, batch) })
			return nil
		}
		for i := range workers {
			w, err := watcher.NewWorker(q, q, lists, store, rs, pipeline, watcher.WorkerOptions{
				Name: fmt.Sprintf("bench-%d", i), Chains: []string{chain}, Batch: batch,
				Block: 50 * time.Millisecond})
			if err != nil {
				return err
			}
			g.Go(func() error { return w.Run(gctx) })
		}
		return nil
	}
	if !phased {
		if err := profile(); err != nil {
			return err
		}
		if err := startWorkers(); err != nil {
			return err
		}
	}
	start := time.Now()
	tip := queue.Tip{}
	for i := 0; i < len(blocks); i += appendBlocks {
		recs := blocks[i:min(i+appendBlocks, len(blocks))]
		if err := q.AppendBlocks(ctx, chain, tip, recs, watcher.DefaultDepth); err != nil {
			return err
		}
		tip = recs[len(recs)-1].Tip()
	}
	published := time.Since(start)
	consumeStart := start
	if phased {
		if err := profile(); err != nil {
			return err
		}
		consumeStart = time.Now()
		if err := startWorkers(); err != nil {
			return err
		}
	}
	for {
		left, err := q.Backlog(ctx, chain)
		if err != nil {
			return err
		}
		if left == 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	total, consumed := time.Since(start), time.Since(consumeStart)
	stop()
	_ = g.Wait()
	alerted, _, err := alerting.NewRedisJournal(rdb, prefix, nil).Head(ctx)
	if err != nil {
		return err
	}
	mode := "concurrent"
	if phased {
		mode = "phased"
	}
	if queueOnly {
		mode += "-queue-only"
		workers = 1 // one plain consumer
	}
	fmt.Printf("mode %s movements %d blocks %d workers %d entry_bytes %d publish_per_s %.0f "+
		"consume_per_s %.0f end_to_end_per_s %.0f alerts %d\n", mode, n, len(blocks), workers,
		entryBytes/n, float64(n)/published.Seconds(), float64(n)/consumed.Seconds(),
		float64(n)/total.Seconds(), alerted)
	return nil
}

// consume reads, decodes and acknowledges entries until ctx ends: the queue's own cost,
// without rules, taint or alerts.
func consume(ctx context.Context, q *queue.Redis, batch int) error {
	for ctx.Err() == nil {
		msgs, err := q.Read(ctx, chain, "raw", batch, 50*time.Millisecond)
		if err != nil {
			return err
		}
		ids := make([]string, 0, len(msgs))
		for _, m := range msgs {
			if m.Err != nil {
				return m.Err
			}
			if _, errs := chains.UnmarshalMovements(m.Payloads); errs != nil {
				return fmt.Errorf("entry %s: %v", m.ID, errs)
			}
			ids = append(ids, m.ID)
		}
		if err := q.Ack(ctx, chain, ids...); err != nil {
			return err
		}
	}
	return nil
}
