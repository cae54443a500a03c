package alerting

import (
	"context"
	"sync"
	"time"
)

var _ Journal = (*MemoryJournal)(nil)

// MemoryJournal is a Journal in process, for the embedded default (nothing survives the
// process). Safe for concurrent use.
type MemoryJournal struct {
	mu      sync.Mutex
	entries []Entry
	sent    map[string]time.Time // dedup key -> when it is forgotten
	// Now is the clock (nil: time.Now); TTL how long a notification is remembered (0:
	// DefaultDedupTTL).
	Now func() time.Time
	TTL time.Duration
}

func (j *MemoryJournal) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}

// Append implements Journal.
func (j *MemoryJournal) Append(ctx context.Context, alerts ...Alert) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.sent == nil {
		j.sent = map[string]time.Time{}
	}
	now := j.now()
	var fresh []Alert
	var keys []string
	inCall := map[string]bool{}
	for i := range alerts {
		k := alerts[i].DedupKey()
		if exp, ok := j.sent[k]; ok && now.Before(exp) || inCall[k] {
			continue
		}
		inCall[k] = true
		fresh, keys = append(fresh, alerts[i]), append(keys, k)
	}
	seq, hash := uint64(0), GenesisHash
	if n := len(j.entries); n > 0 {
		seq, hash = j.entries[n-1].Seq, j.entries[n-1].Hash
	}
	es, err := newEntries(seq, hash, now, fresh)
	if err != nil {
		return nil, err
	}
	ttl := j.TTL
	if ttl == 0 {
		ttl = DefaultDedupTTL
	}
	for _, k := range keys {
		j.sent[k] = now.Add(ttl)
	}
	j.entries = append(j.entries, es...)
	return es, nil
}

// Head implements Journal.
func (j *MemoryJournal) Head(ctx context.Context) (uint64, string, error) {
	if err := ctx.Err(); err != nil {
		return 0, "", err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if n := len(j.entries); n > 0 {
		return j.entries[n-1].Seq, j.entries[n-1].Hash, nil
	}
	return 0, GenesisHash, nil
}

// Entries implements Journal.
func (j *MemoryJournal) Entries(ctx context.Context, after uint64, n int) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []Entry
	for _, e := range j.entries {
		if e.Seq > after && len(out) < n {
			out = append(out, e)
		}
	}
	return out, nil
}
