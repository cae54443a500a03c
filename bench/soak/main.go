package main

import (
	"context"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

func main() {
	geth := flag.String("geth", "geth", "geth binary (v1.16.x)")
	fw := flag.String("flowwatch", "bin/flowwatch", "flowwatch binary")
	redisServer := flag.String("redis-server", "redis-server", "redis-server binary")
	duration := flag.Duration("duration", 10*time.Minute, "how long to play faults")
	procs := flag.Int("procs", 2, "flowwatch run processes")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "random seed of the faults")
	rate := flag.Float64("rate", 5, "laundering flows per second at most (each 7 transactions)")
	confirmations := flag.Uint64("confirmations", 0,
		"the chain's confirmations; more than 0: early warnings too")
	reorgs := flag.Bool("reorgs", false, "fork the chain back 1 to 4 blocks now and then")
	keep := flag.Bool("keep", false, "keep the run's directory (logs, Redis) when it passes")
	flag.Parse()
	redis.SetLogger(quiet{}) // the soak's own clients meet Redis down by design
	if err := run(*geth, *fw, *redisServer, *duration, *procs, *seed, *rate,
		*confirmations, *reorgs, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// quiet is a go-redis logger that logs nothing.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func run(gethBin, fwBin, redisBin string, d time.Duration, procs int, seed uint64,
	rate float64, confirmations uint64, reorgs, keep bool) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "flowwatch-soak-")
	if err != nil {
		return err
	}
	failed := true // a failed run keeps its directory (logs, Redis's files) to be looked at
	defer func() {
		if failed {
			fmt.Printf("soak: kept %s\n", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}()
	fmt.Printf("soak: %s of faults, %d flowwatch processes, %d confirmations, reorgs %v, "+
		"seed %d, in %s\n", d, procs, confirmations, reorgs, seed, dir)
	rds, err := startRedis(redisBin, filepath.Join(dir, "redis"))
	if err != nil {
		return err
	}
	defer rds.stop()
	node, err := startGeth(ctx, gethBin, filepath.Join(dir, "geth"))
	if err != nil {
		return err
	}
	defer node.stop()
	w, err := newWorld(ctx, node, rds, dir, confirmations)
	if err != nil {
		return err
	}
	defer w.recv.close()
	sup := newSupervisor(fwBin, w.cfg, filepath.Join(dir, "logs"), procs)
	sup.start()
	defer sup.stop()

	rng := mrand.New(mrand.NewPCG(seed, 11))
	var forks *mrand.Rand // the traffic's goroutine's alone
	if reorgs {
		forks = mrand.New(mrand.NewPCG(seed, 12))
	}
	traffic, flowFailed := w.play(ctx, time.Duration(float64(time.Second)/rate), forks)
	start := time.Now()
	kills, redisRestarts := 0, 0
	for time.Since(start) < d {
		select {
		case <-time.After(time.Duration(500+rng.IntN(4500)) * time.Millisecond):
		case <-flowFailed:
			_, err := traffic()
			return err
		}
		if rng.IntN(10) < 7 {
			sup.killOne(rng)
			kills++
			continue
		}
		if err := rds.kill(); err != nil {
			return err
		}
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Millisecond)
		if err := rds.restart(); err != nil {
			return err
		}
		redisRestarts++
	}
	p, err := traffic()
	if err != nil {
		return err
	}
	if err := w.confirm(ctx); err != nil {
		return err
	}
	want := alertsPerFlow * p.flows
	fmt.Printf("faults over: %d flowwatch kills, %d Redis kills and restarts; %d flows "+
		"(%d alerts expected); %d forks orphaning %d blocks (%d transactions sent again); "+
		"settling ...\n", kills, redisRestarts, p.flows, want, p.forks, p.orphaned, p.resent)
	res, err := w.settle(ctx, 20*time.Minute)
	if err != nil {
		return err
	}
	exits, ended := sup.exits()
	fmt.Printf("after %s: %d movements in blocks %d-%d (head %d): %d missing, %d more "+
		"than once, %d published as removed; %d alerts expected, %d confirmed in the "+
		"blocks that mined them, %d under more than one idempotency key; %d deliveries "+
		"repeated under the same key (dropped by the receiver); %d early warnings, %d "+
		"confirmations, %d retractions (every alert raised in an orphaned block); %d "+
		"restarts of flowwatch processes that ended (%d on their own)\n",
		time.Since(start).Round(time.Second), res.movements, w.startBlock, res.published,
		res.head, res.missing, res.doubled, len(res.audit.Removed), want, res.confirmed,
		res.multiKey, res.repeats, res.Provisional, res.Confirmed, res.Retracted, exits,
		len(ended))
	for _, why := range ended {
		fmt.Printf("  ended on its own: %s\n", why)
	}
	for _, k := range res.repeated {
		fmt.Printf("  delivered more than once: %s\n", k)
	}
	for _, k := range res.audit.Missing {
		fmt.Printf("  missing: %s\n", k)
	}
	for _, k := range res.audit.Doubled {
		fmt.Printf("  more than once: %s\n", k)
	}
	for _, k := range res.audit.Stale {
		fmt.Printf("  in an orphaned block, not removed: %s\n", k)
	}
	if len(res.audit.Removed) > 0 {
		fmt.Printf("  published as removed (a reorg's): %d, first %s\n",
			len(res.audit.Removed), res.audit.Removed[0])
	}
	if res.missing > 0 || res.doubled > 0 || len(res.audit.Stale) > 0 ||
		res.confirmed != want || res.multiKey > 0 || res.bad > 0 {
		return fmt.Errorf("FAILED: lost or duplicated movements or alerts")
	}
	if !reorgs && (len(res.audit.Removed) > 0 || res.Retracted > 0) {
		return fmt.Errorf("FAILED: %d movements removed, %d alerts retracted without a reorg",
			len(res.audit.Removed), res.Retracted)
	}
	if confirmations > 0 && res.Provisional == 0 {
		return fmt.Errorf("FAILED: no early warning with %d confirmations", confirmations)
	}
	n, err := logged(filepath.Join(dir, "logs"), "learners read the movements judged before")
	if err != nil {
		return err
	}
	fmt.Printf("learners read back the movements judged before %d times\n", n)
	if n, err = logged(filepath.Join(dir, "logs"), "rolling back"); err == nil {
		fmt.Printf("pollers rolled back a reorg %d times\n", n)
	}
	failed = keep // kept as a failed run's is
	fmt.Println("soak: PASS")
	return nil
}

// logged counts the lines of the flowwatch logs in dir whose message is msg.
func logged(dir, msg string) (int, error) {
	files, err := filepath.Glob(filepath.Join(dir, "flowwatch-*.log"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		n += strings.Count(string(b), `"msg":"`+msg+`"`)
	}
	return n, nil
}
