package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	_ Owners = (*Redis)(nil)
	_ Owners = (*Memory)(nil)
)

// ownScript: KEYS owner; ARGV consumer, ttl ms. Sets or renews the owner; 1 if it is consumer.
var ownScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// releaseScript: KEYS owner; ARGV consumer. Deletes the owner key only if it is consumer's.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`)

// Own implements Owners with a key per chain that expires after ttl.
func (q *Redis) Own(ctx context.Context, chain, consumer string, ttl time.Duration) (
	bool, error) {
	ms := max(ttl.Milliseconds(), 1)
	n, err := ownScript.Run(ctx, q.rdb, []string{q.key(chain, "owner")}, consumer, ms).Int()
	if err != nil {
		return false, fmt.Errorf("own %s: %w", chain, err)
	}
	return n == 1, nil
}

// OwnerKey implements Owners.
func (q *Redis) OwnerKey(chain string) string { return q.key(chain, "owner") }

// Release implements Owners.
func (q *Redis) Release(ctx context.Context, chain, consumer string) error {
	if err := releaseScript.Run(ctx, q.rdb, []string{q.key(chain, "owner")},
		consumer).Err(); err != nil {
		return fmt.Errorf("release %s: %w", chain, err)
	}
	return nil
}

type memOwner struct {
	consumer string
	until    time.Time
}

// Own implements Owners.
func (q *Memory) Own(_ context.Context, chain, consumer string, ttl time.Duration) (
	bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	c := q.chain(chain)
	now := q.now()
	if c.owner.consumer != "" && c.owner.consumer != consumer && now.Before(c.owner.until) {
		return false, nil
	}
	c.owner = memOwner{consumer: consumer, until: now.Add(ttl)}
	return true, nil
}

// Release implements Owners.
func (q *Memory) Release(_ context.Context, chain, consumer string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if c := q.chain(chain); c.owner.consumer == consumer {
		c.owner = memOwner{}
	}
	return nil
}
