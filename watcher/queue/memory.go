package queue

import (
	"context"
	"fmt"
	"sync"
	"time"
)

var (
	_ Journal  = (*Memory)(nil)
	_ Consumer = (*Memory)(nil)
)

// Memory is the in-process queue of the embedded default: nothing survives the process.
// Entries are kept until acknowledged.
type Memory struct {
	now func() time.Time

	mu     sync.Mutex
	chains map[string]*memChain
}

type memChain struct {
	tip     Tip
	records map[uint64]Record
	nextSeq uint64
	entries []*memEntry // not yet acknowledged, in id order
	wake    chan struct{}
	owner   memOwner
}

type memEntry struct {
	seq         uint64
	payloads    [][]byte
	consumer    string // "" while not handed out
	deliveredAt time.Time
}

// NewMemory returns an empty in-memory queue. now is the clock (nil: time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, chains: map[string]*memChain{}}
}

func (q *Memory) chain(name string) *memChain {
	c, ok := q.chains[name]
	if !ok {
		c = &memChain{records: map[uint64]Record{}, nextSeq: 1, wake: make(chan struct{})}
		q.chains[name] = c
	}
	return c
}

func (c *memChain) publish(payloads [][]byte) {
	for _, chunk := range chunks(payloads) {
		c.entries = append(c.entries, &memEntry{seq: c.nextSeq, payloads: clonePayloads(chunk)})
		c.nextSeq++
	}
	if len(payloads) > 0 {
		close(c.wake)
		c.wake = make(chan struct{})
	}
}

// OwnerKey implements Owners: "", in-memory ownership is not kept in a key.
func (q *Memory) OwnerKey(string) string { return "" }

// Tip implements Journal.
func (q *Memory) Tip(_ context.Context, chain string) (Tip, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.chain(chain).tip, nil
}

// Record implements Journal.
func (q *Memory) Record(_ context.Context, chain string, n uint64) (Record, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	r, ok := q.chain(chain).records[n]
	return r, ok, nil
}

// Append implements Journal.
func (q *Memory) Append(ctx context.Context, chain string, expect Tip, rec Record, depth int) error {
	return q.AppendBlocks(ctx, chain, expect, []Record{rec}, depth)
}

// AppendBlocks implements Journal.
func (q *Memory) AppendBlocks(_ context.Context, chain string, expect Tip, recs []Record,
	depth int) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	c := q.chain(chain)
	if c.tip != expect {
		return ErrConflict
	}
	for _, rec := range recs {
		c.publish(rec.Payloads)
		rec.Payloads = clonePayloads(rec.Payloads)
		c.records[rec.Number] = rec
		if depth > 0 && rec.Number >= uint64(depth) {
			delete(c.records, rec.Number-uint64(depth))
		}
		c.tip = rec.Tip()
	}
	return nil
}

// Rollback implements Journal.
func (q *Memory) Rollback(_ context.Context, chain string, expect, to Tip, removed [][]byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	c := q.chain(chain)
	if c.tip != expect {
		return ErrConflict
	}
	c.publish(removed)
	for n := range c.records {
		if !to.Valid || n > to.Number {
			delete(c.records, n)
		}
	}
	c.tip = to
	return nil
}

func (q *Memory) message(chain string, e *memEntry) Message {
	return Message{ID: fmt.Sprintf("%d-0", e.seq), Chain: chain,
		Payloads: clonePayloads(e.payloads)}
}

func clonePayloads(ps [][]byte) [][]byte {
	out := make([][]byte, len(ps))
	for i, p := range ps {
		out[i] = append([]byte{}, p...)
	}
	return out
}

// Read implements Consumer.
func (q *Memory) Read(ctx context.Context, chain, consumer string, count int,
	block time.Duration) ([]Message, error) {
	timer := time.NewTimer(block)
	defer timer.Stop()
	for {
		q.mu.Lock()
		c := q.chain(chain)
		var out []Message
		for _, e := range c.entries {
			if len(out) == count {
				break
			}
			if e.consumer == "" {
				e.consumer, e.deliveredAt = consumer, q.now()
				out = append(out, q.message(chain, e))
			}
		}
		wake := c.wake
		q.mu.Unlock()
		if len(out) > 0 {
			return out, nil
		}
		select {
		case <-wake:
		case <-timer.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Ack implements Consumer.
func (q *Memory) Ack(_ context.Context, chain string, ids ...string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	c := q.chain(chain)
	done := map[uint64]bool{}
	for _, id := range ids {
		var seq uint64
		if _, err := fmt.Sscanf(id, "%d-0", &seq); err != nil {
			return fmt.Errorf("ack: bad id %q", id)
		}
		done[seq] = true
	}
	kept := c.entries[:0]
	for _, e := range c.entries {
		if !done[e.seq] || e.consumer == "" {
			kept = append(kept, e)
		}
	}
	clear(c.entries[len(kept):])
	c.entries = kept
	return nil
}

// Claim implements Consumer.
func (q *Memory) Claim(_ context.Context, chain, consumer string, minIdle time.Duration,
	count int) ([]Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	c := q.chain(chain)
	now := q.now()
	var out []Message
	for _, e := range c.entries {
		if len(out) == count {
			break
		}
		if e.consumer != "" && now.Sub(e.deliveredAt) >= minIdle {
			e.consumer, e.deliveredAt = consumer, now
			out = append(out, q.message(chain, e))
		}
	}
	return out, nil
}

// Backlog implements Consumer.
func (q *Memory) Backlog(_ context.Context, chain string) (int64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return int64(len(q.chain(chain).entries)), nil
}
