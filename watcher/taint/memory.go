package taint

import (
	"context"
	"sync"

	"github.com/flowwatch/flowwatch/watcher/rules"
)

var _ Store = (*Memory)(nil)

// Memory is the in-process Store.
type Memory struct {
	mu      sync.Mutex
	taints  map[string][]byte   // chain/addr -> encoded taint
	by      map[string][]string // chain/key -> addrs it tainted
	alerted map[string][]byte   // chain/key -> alerts
}

// NewMemory returns an empty store.
func NewMemory() *Memory {
	return &Memory{taints: map[string][]byte{}, by: map[string][]string{},
		alerted: map[string][]byte{}}
}

// Taints implements Store.
func (s *Memory) Taints(_ context.Context, chain string, addrs ...string) (
	map[string]rules.Taint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]rules.Taint{}
	for _, a := range addrs {
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
	for i, nt := range taints {
		k := chain + "/" + nt.Address
		if _, ok := s.taints[k]; !ok {
			s.taints[k] = enc[i]
			s.by[chain+"/"+key] = append(s.by[chain+"/"+key], nt.Address)
		}
	}
	if _, ok := s.alerted[chain+"/"+key]; !ok && alerts != nil {
		s.alerted[chain+"/"+key] = alerts
	}
	return nil
}

// Undo implements Store.
func (s *Memory) Undo(_ context.Context, chain, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.by[chain+"/"+key] {
		delete(s.taints, chain+"/"+a)
	}
	delete(s.by, chain+"/"+key)
	return s.alerted[chain+"/"+key], nil
}

// Forget implements Store.
func (s *Memory) Forget(_ context.Context, chain, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.alerted, chain+"/"+key)
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
