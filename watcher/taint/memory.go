package taint

import (
	"context"
	"strings"
	"sync"

	"github.com/flowwatch/flowwatch/watcher/rules"
)

var _ Store = (*Memory)(nil)

// DefaultMemoryRecords is how many movements' records the in-memory store keeps for Undo;
// older ones are dropped (a reorg that deep is past any confirmations setting).
const DefaultMemoryRecords = 1 << 18

// Memory is the in-process Store.
type Memory struct {
	mu      sync.Mutex
	taints  map[string][]byte           // chain/key -> encoded taint
	tracked map[string]map[string]int64 // chain -> counter -> keys
	records map[string]*record          // chain/movement key -> what it did
	order   []string                    // records' keys, oldest first
}

// record is what one movement did: each key's earlier value (nil: none) and the counter a
// new key added to.
type record struct {
	applied  bool
	keys     []string
	before   [][]byte
	counters []string
	alerts   []byte
}

// NewMemory returns an empty store.
func NewMemory() *Memory {
	return &Memory{taints: map[string][]byte{}, tracked: map[string]map[string]int64{},
		records: map[string]*record{}}
}

// Taints implements Store.
func (s *Memory) Taints(_ context.Context, chain string, keys ...string) (
	map[string]rules.Taint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]rules.Taint{}
	for _, a := range keys {
		if b, ok := s.taints[chain+"/"+a]; ok {
			t, err := decode(b)
			if err != nil {
				return nil, err
			}
			out[a] = t
		}
	}
	return out, nil
}

// Keys implements Store.
func (s *Memory) Keys(_ context.Context, chain string, fn func(key string)) error {
	s.mu.Lock()
	var keys []string
	for k := range s.taints {
		if c, key, _ := strings.Cut(k, "/"); c == chain {
			keys = append(keys, key)
		}
	}
	s.mu.Unlock()
	for _, k := range keys { // fn may call the store
		fn(k)
	}
	return nil
}

// Tracked implements Store.
func (s *Memory) Tracked(_ context.Context, chain string) (map[string]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.tracked[chain]))
	for k, v := range s.tracked[chain] {
		out[k] = v
	}
	return out, nil
}

// Apply implements Store.
func (s *Memory) Apply(_ context.Context, chain, key string, taints []rules.NewTaint,
	alerts []byte) error {
	enc := make([][]byte, len(taints))
	for i, nt := range taints {
		b, err := encode(nt.Taint)
		if err != nil {
			return err
		}
		enc[i] = b
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rk := chain + "/" + key
	if r := s.records[rk]; (r != nil && r.applied) || (len(taints) == 0 && alerts == nil) {
		return nil
	}
	r := &record{applied: true, alerts: alerts}
	for i, nt := range taints {
		k := chain + "/" + nt.Address
		old, had := s.taints[k]
		r.keys, r.before = append(r.keys, nt.Address), append(r.before, old)
		counter := ""
		if !had && nt.Counter != "" {
			counter = nt.Counter
			if s.tracked[chain] == nil {
				s.tracked[chain] = map[string]int64{}
			}
			s.tracked[chain][counter]++
		}
		r.counters = append(r.counters, counter)
		s.taints[k] = enc[i]
	}
	if _, ok := s.records[rk]; !ok {
		s.order = append(s.order, rk)
	}
	s.records[rk] = r
	for len(s.order) > DefaultMemoryRecords {
		delete(s.records, s.order[0])
		s.order = s.order[1:]
	}
	return nil
}

// Recorded implements Store.
func (s *Memory) Recorded(_ context.Context, chain string, keys ...string) (
	map[string][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]byte{}
	for _, k := range keys {
		if r := s.records[chain+"/"+k]; r != nil && r.applied {
			out[k] = append([]byte{}, r.alerts...)
		}
	}
	return out, nil
}

// Undo implements Store.
func (s *Memory) Undo(_ context.Context, chain, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.records[chain+"/"+key]
	if r == nil {
		return nil, nil
	}
	for i := len(r.keys) - 1; i >= 0; i-- {
		k := chain + "/" + r.keys[i]
		if r.before[i] == nil {
			delete(s.taints, k)
		} else {
			s.taints[k] = r.before[i]
		}
		if r.counters[i] != "" {
			s.tracked[chain][r.counters[i]]--
		}
	}
	r.applied, r.keys, r.before, r.counters = false, nil, nil, nil
	return r.alerts, nil
}

// Forget implements Store.
func (s *Memory) Forget(_ context.Context, chain, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.records[chain+"/"+key]; r != nil {
		r.alerts = nil
	}
	return nil
}

// ApplyAll implements Store. Fences are not checked: the in-memory store serves the workers
// of one process, whose ownership is not kept in a key a write could check.
func (s *Memory) ApplyAll(ctx context.Context, chain string, _ Fence, effects []Effect) error {
	for _, e := range effects {
		if err := s.Apply(ctx, chain, e.Key, e.Taints, e.Alerts); err != nil {
			return err
		}
	}
	return nil
}
