package alerting

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultDedupTTL is how long a delivered notification is remembered.
const DefaultDedupTTL = 30 * 24 * time.Hour

// Seen remembers which notifications were delivered.
type Seen interface {
	// Seen reports which of the keys were marked delivered.
	Seen(ctx context.Context, keys ...string) ([]bool, error)
	// Mark records the keys as delivered for ttl.
	Mark(ctx context.Context, ttl time.Duration, keys ...string) error
}

// Dedup is the stage that drops alerts already delivered in the same state and passes the
// others on together, marking them delivered, in one round trip, once the stages after it
// accepted them. Its key is (rule, chain, tx, position, state, block hash): a redelivered
// movement never notifies twice, and a retraction is a notification of its own.
//
// Marking the batch at once rather than each alert as it goes keeps alert delivery off the
// workers' critical path (one round trip per batch instead of one per alert). The price: a
// crash between the sinks' acceptance and the mark, or a sink failing after others of the
// batch were delivered, repeats that batch's notifications, each under the same key (the
// webhook's Idempotency-Key), which receivers dedup on.
type Dedup struct {
	Seen Seen
	Next Stage
	TTL  time.Duration
}

// Exec implements Stage.
func (d *Dedup) Exec(ctx context.Context, alerts ...Alert) ([]Alert, error) {
	keys := make([]string, len(alerts))
	for i := range alerts {
		keys[i] = alerts[i].DedupKey()
	}
	seen, err := d.Seen.Seen(ctx, keys...)
	if err != nil {
		return nil, fmt.Errorf("dedup: %w", err)
	}
	ttl := d.TTL
	if ttl == 0 {
		ttl = DefaultDedupTTL
	}
	var fresh []Alert
	var freshKeys []string
	inBatch := map[string]bool{}
	for i, a := range alerts {
		if seen[i] || inBatch[keys[i]] {
			continue
		}
		inBatch[keys[i]] = true
		fresh, freshKeys = append(fresh, a), append(freshKeys, keys[i])
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	passed, err := d.Next.Exec(ctx, fresh...)
	if err != nil {
		return nil, err
	}
	if err := d.Seen.Mark(ctx, ttl, freshKeys...); err != nil {
		return nil, fmt.Errorf("dedup: %w", err)
	}
	return passed, nil
}

// RedisSeen keeps delivered keys in Redis, one key each with a TTL, so that every worker
// shares them.
type RedisSeen struct {
	RDB    redis.UniversalClient
	Prefix string // default "fw"
}

func (s *RedisSeen) key(k string) string {
	p := s.Prefix
	if p == "" {
		p = "fw"
	}
	return p + ":sent:" + k
}

// Seen implements Seen.
func (s *RedisSeen) Seen(ctx context.Context, keys ...string) ([]bool, error) {
	pipe := s.RDB.Pipeline()
	cmds := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Exists(ctx, s.key(k))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	out := make([]bool, len(keys))
	for i, c := range cmds {
		out[i] = c.Val() == 1
	}
	return out, nil
}

// Mark implements Seen.
func (s *RedisSeen) Mark(ctx context.Context, ttl time.Duration, keys ...string) error {
	pipe := s.RDB.Pipeline()
	for _, k := range keys {
		pipe.Set(ctx, s.key(k), 1, ttl)
	}
	_, err := pipe.Exec(ctx)
	return err
}

// MemorySeen keeps delivered keys in process, for the embedded default.
type MemorySeen struct {
	mu   sync.Mutex
	keys map[string]time.Time // expiry
	Now  func() time.Time
}

func (s *MemorySeen) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Seen implements Seen.
func (s *MemorySeen) Seen(_ context.Context, keys ...string) ([]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]bool, len(keys))
	for i, k := range keys {
		exp, ok := s.keys[k]
		out[i] = ok && s.now().Before(exp)
	}
	return out, nil
}

// Mark implements Seen.
func (s *MemorySeen) Mark(_ context.Context, ttl time.Duration, keys ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		s.keys = map[string]time.Time{}
	}
	for _, k := range keys {
		s.keys[k] = s.now().Add(ttl)
	}
	return nil
}
