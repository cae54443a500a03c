package watcher

// What a worker reports for metrics: movements judged, cap hits and the reach of its
// memories of recent transfers.

import (
	"sync"
	"time"
)

// CapHits is how many times a rule's cap on tracked addresses kept an address from being
// tracked. Safe for concurrent use.
func (w *Worker) CapHits() uint64 { return w.capHits.Load() }

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

func (s *workerStats) judged(chain string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byChan == nil {
		s.byChan = map[string]uint64{}
	}
	s.byChan[chain] += uint64(n)
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
