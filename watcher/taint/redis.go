package taint

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/flowwatch/flowwatch/watcher/rules"
)

var _ Store = (*Redis)(nil)

// Redis is the Store in Redis: per chain a hash of address -> taint, and per movement a set
// of the addresses it tainted and the alerts it raised. Keys carry the chain's hash tag.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedis returns a store over rdb; prefix starts every key (default "fw").
func NewRedis(rdb redis.UniversalClient, prefix string) *Redis {
	if prefix == "" {
		prefix = "fw"
	}
	return &Redis{rdb: rdb, prefix: prefix}
}

func (s *Redis) key(chain, what string) string { return s.prefix + ":{" + chain + "}:" + what }

// Taints implements Store.
func (s *Redis) Taints(ctx context.Context, chain string, addrs ...string) (
	map[string]rules.Taint, error) {
	out := map[string]rules.Taint{}
	if len(addrs) == 0 {
		return out, nil
	}
	vals, err := s.rdb.HMGet(ctx, s.key(chain, "taint"), addrs...).Result()
	if err != nil {
		return nil, fmt.Errorf("read taint on %s: %w", chain, err)
	}
	for i, v := range vals {
		if str, ok := v.(string); ok {
			t, err := decode([]byte(str))
			if err != nil {
				return nil, err
			}
			out[addrs[i]] = t
		}
	}
	return out, nil
}

// applyScript applies a batch of effects at once. KEYS: the fence key, the taint hash, then
// per effect its by set and alerted key; ARGV: the fence holder ("": no fence), then per
// effect the number of taints n, the alerts ("" none), then n × (address, taint). An address
// already tainted keeps its first taint. Nothing is written unless the fence key holds the
// holder.
var applyScript = redis.NewScript(`
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('FENCED')
end
local a = 2
for k = 3, #KEYS, 2 do
  local n = tonumber(ARGV[a])
  local alerts = ARGV[a + 1]
  a = a + 2
  for i = 1, n do
    if redis.call('HSETNX', KEYS[2], ARGV[a], ARGV[a + 1]) == 1 then
      redis.call('SADD', KEYS[k], ARGV[a])
    end
    a = a + 2
  end
  if alerts ~= '' then redis.call('SET', KEYS[k + 1], alerts, 'NX') end
end
return 'OK'
`)

// undoScript: KEYS taint hash, by set, alerted; returns the alerts (or false), kept.
var undoScript = redis.NewScript(`
local addrs = redis.call('SMEMBERS', KEYS[2])
if #addrs > 0 then redis.call('HDEL', KEYS[1], unpack(addrs)) end
redis.call('DEL', KEYS[2])
return redis.call('GET', KEYS[3])
`)

// movementKeys are a movement's keys: the addresses it tainted, the alerts it raised.
func (s *Redis) movementKeys(chain, key string) (by, alerted string) {
	return s.key(chain, "taintby:"+key), s.key(chain, "alerted:"+key)
}

// Apply implements Store.
func (s *Redis) Apply(ctx context.Context, chain, key string, taints []rules.NewTaint,
	alerts []byte) error {
	return s.ApplyAll(ctx, chain, Fence{}, []Effect{{Key: key, Taints: taints, Alerts: alerts}})
}

// ApplyAll implements Store with one script call: the batch is applied atomically.
func (s *Redis) ApplyAll(ctx context.Context, chain string, fence Fence,
	effects []Effect) error {
	if len(effects) == 0 {
		return nil
	}
	err := s.applyAll(ctx, chain, fence, effects)
	if err != nil && strings.Contains(err.Error(), "NOSCRIPT") {
		// The server lost its script cache (a restart): load it and run again; applying
		// is idempotent.
		if err := applyScript.Load(ctx, s.rdb).Err(); err != nil {
			return fmt.Errorf("load apply script: %w", err)
		}
		err = s.applyAll(ctx, chain, fence, effects)
	}
	if err != nil && strings.Contains(err.Error(), "FENCED") {
		return fmt.Errorf("apply on %s as %s: %w", chain, fence.Holder, ErrFenced)
	}
	return err
}

func (s *Redis) applyAll(ctx context.Context, chain string, fence Fence,
	effects []Effect) error {
	fenceKey := fence.Key
	if fenceKey == "" {
		fenceKey = s.key(chain, "taint") // not read; any key of the chain's slot
	}
	keys := make([]string, 2, 2+2*len(effects))
	keys[0], keys[1] = fenceKey, s.key(chain, "taint")
	args := []any{fence.Holder}
	for _, e := range effects {
		by, alerted := s.movementKeys(chain, e.Key)
		keys = append(keys, by, alerted)
		args = append(args, len(e.Taints), string(e.Alerts))
		for _, nt := range e.Taints {
			b, err := encode(nt.Taint)
			if err != nil {
				return err
			}
			args = append(args, nt.Address, b)
		}
	}
	if err := applyScript.EvalSha(ctx, s.rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("apply %d effects: %w", len(effects), err)
	}
	return nil
}

// Undo implements Store.
func (s *Redis) Undo(ctx context.Context, chain, key string) ([]byte, error) {
	by, alerted := s.movementKeys(chain, key)
	v, err := undoScript.Run(ctx, s.rdb, []string{s.key(chain, "taint"), by, alerted}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("undo %s: %w", key, err)
	}
	str, _ := v.(string)
	if str == "" {
		return nil, nil
	}
	return []byte(str), nil
}

// Forget implements Store.
func (s *Redis) Forget(ctx context.Context, chain, key string) error {
	_, alerted := s.movementKeys(chain, key)
	if err := s.rdb.Del(ctx, alerted).Err(); err != nil {
		return fmt.Errorf("forget %s: %w", key, err)
	}
	return nil
}
