package chains

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
)

// EndpointHealth is what the last check found of an endpoint.
type EndpointHealth struct {
	Name string
	Head uint64 // its head at the last check (0: unknown)
	// Demoted says why calls avoid it ("": healthy): it lags, disagrees, or failed.
	Demoted string
}

// Health returns what the last check found of each endpoint, in config order.
func (f *Failover) Health() []EndpointHealth {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]EndpointHealth(nil), f.health...)
}

// Run checks the endpoints every CheckEvery until ctx ends.
func (f *Failover) Run(ctx context.Context) error {
	for {
		f.Check(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(f.opts.CheckEvery):
		}
	}
}

// checkTimeout bounds each endpoint's answer in a check.
const checkTimeout = 10 * time.Second

// Check asks every endpoint its head, then those within MaxLag of the best the hash of
// the block two below the lowest of their heads (a block all of them have, deep enough not
// to be racing the tip), and demotes the endpoints that failed, lag, or disagree with the
// hash the greater weight gives.
func (f *Failover) Check(ctx context.Context) {
	n := len(f.sources)
	heads, headErrs := make([]uint64, n), make([]error, n)
	each(n, func(i int) {
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		defer cancel()
		heads[i], headErrs[i] = f.sources[i].Head(cctx)
	})
	if ctx.Err() != nil {
		return
	}
	demoted := make([]string, n)
	best := uint64(0)
	for i := range n {
		if headErrs[i] != nil {
			demoted[i] = "head: " + headErrs[i].Error()
		} else {
			best = max(best, heads[i])
		}
	}
	low := best
	for i := range n {
		switch {
		case demoted[i] != "":
		case best-heads[i] > f.opts.MaxLag:
			demoted[i] = fmt.Sprintf("its head %d lags the best, %d, by %d blocks", heads[i],
				best, best-heads[i])
		default:
			low = min(low, heads[i])
		}
	}
	if low >= 2 {
		f.compareHashes(ctx, low-2, demoted)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range n {
		was := f.health[i].Demoted
		f.health[i].Head, f.health[i].Demoted = heads[i], demoted[i]
		switch {
		case was == "" && demoted[i] != "":
			f.log.Warn("RPC endpoint demoted", zap.String("endpoint", f.opts.Names[i]),
				zap.String("why", demoted[i]))
		case was != "" && demoted[i] == "":
			f.log.Info("RPC endpoint restored", zap.String("endpoint", f.opts.Names[i]))
		}
	}
}

// compareHashes demotes, among the endpoints not demoted yet, those whose hash of block
// num differs from the hash of greatest total weight, and those that cannot give it.
func (f *Failover) compareHashes(ctx context.Context, num uint64, demoted []string) {
	n := len(f.sources)
	hashes, errs := make([]string, n), make([]error, n)
	each(n, func(i int) {
		if demoted[i] != "" {
			return
		}
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		defer cancel()
		var ref BlockRef
		ref, errs[i] = f.sources[i].Ref(cctx, num)
		hashes[i] = ref.Hash
	})
	weight := map[string]int{}
	for i := range n {
		if demoted[i] == "" && errs[i] == nil {
			weight[hashes[i]] += f.opts.Weights[i]
		}
	}
	major, most := "", 0
	for i := range n { // ties go to the hash of the endpoint first in config order
		if w := weight[hashes[i]]; demoted[i] == "" && errs[i] == nil && w > most {
			major, most = hashes[i], w
		}
	}
	for i := range n {
		switch {
		case demoted[i] != "":
		case errs[i] != nil:
			demoted[i] = fmt.Sprintf("block %d: %v", num, errs[i])
		case hashes[i] != major:
			demoted[i] = fmt.Sprintf("its block %d is %s, the others' %s", num, hashes[i],
				major)
		}
	}
}

// each runs fn(0..n-1) at once and waits for them.
func each(n int, fn func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i)
		}()
	}
	wg.Wait()
}
