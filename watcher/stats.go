package watcher

// What a worker reports for metrics: movements judged, cap hits and the reach of its
// memories of recent transfers.

import (
	"maps"
	"sync"
	"time"
)

// CapHits returns, per chain, how many times a rule's cap on tracked addresses per source
// (rules.Rule.MaxTracked) kept funds from being followed to a new address, in the batches
// the worker judged and applied. Safe for concurrent use.
func (w *Worker) CapHits() map[string]uint64 {
	w.stats.mu.Lock()
	defer w.stats.mu.Unlock()
	return maps.Clone(w.stats.capped)
}

// The memories of recent transfers whose reach a Worker reports (Worker.Reach).
const (
	MemoryFanIn    = "fan_in"   // the fan-in rules' senders (package fanin)
	MemoryDeposits = "deposits" // deposit inference's arrivals (package deposit)
)

// Memory names a memory of recent transfers that a worker keeps for one chain.
type Memory struct {
	Chain string
	Name  string // MemoryFanIn or MemoryDeposits
}

// workerStats counts what a worker did, for metrics. Safe for concurrent use.
type workerStats struct {
	mu     sync.Mutex
	byChan map[string]uint64 // movements judged and applied, per chain
	capped map[string]uint64 // cap hits of those movements' decisions, per chain
	reach  map[Memory]time.Duration
}

func (s *workerStats) reached(chain, memory string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reach == nil {
		s.reach = map[Memory]time.Duration{}
	}
	s.reach[Memory{chain, memory}] = d
}

// judged counts n movements of chain judged and applied, and capHits cap hits of their
// decisions.
func (s *workerStats) judged(chain string, n, capHits int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byChan == nil {
		s.byChan, s.capped = map[string]uint64{}, map[string]uint64{}
	}
	s.byChan[chain] += uint64(n)
	if capHits > 0 {
		s.capped[chain] += uint64(capHits)
	}
}

// Judged returns, per chain, how many movements the worker judged and applied (those it
// found applied already, redelivered, are not counted). Safe for concurrent use.
func (w *Worker) Judged() map[string]uint64 {
	w.stats.mu.Lock()
	defer w.stats.mu.Unlock()
	out := make(map[string]uint64, len(w.stats.byChan))
	for c, n := range w.stats.byChan {
		out[c] = n
	}
	return out
}

// Reach returns, per memory of a chain, the block time that the memory of recent transfers
// spans after the worker's last batch of the chain: the window those rules have in effect,
// which the memory's bound may make shorter than the rules'. A memory the worker does not
// keep is absent. Safe for concurrent use.
func (w *Worker) Reach() map[Memory]time.Duration {
	w.stats.mu.Lock()
	defer w.stats.mu.Unlock()
	out := make(map[Memory]time.Duration, len(w.stats.reach))
	for k, d := range w.stats.reach {
		out[k] = d
	}
	return out
}
