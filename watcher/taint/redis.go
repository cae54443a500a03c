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

// applyScript: KEYS taint hash, by set, alerted; ARGV alerts ("" none), then addr, taint...
var applyScript = redis.NewScript(`
for i = 2, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i+1]) == 1 then
    redis.call('SADD', KEYS[2], ARGV[i])
  end
end
if ARGV[1] ~= '' then redis.call('SET', KEYS[3], ARGV[1], 'NX') end
return 'OK'
`)

// undoScript: KEYS taint hash, by set, alerted; returns the alerts (or false), kept.
var undoScript = redis.NewScript(`
local addrs = redis.call('SMEMBERS', KEYS[2])
if #addrs > 0 then redis.call('HDEL', KEYS[1], unpack(addrs)) end
redis.call('DEL', KEYS[2])
return redis.call('GET', KEYS[3])
`)

func (s *Redis) keys(chain, key string) []string {
	return []string{s.key(chain, "taint"), s.key(chain, "taintby:"+key),
		s.key(chain, "alerted:"+key)}
}

func applyArgs(taints []rules.NewTaint, alerts []byte) ([]any, error) {
	args := []any{string(alerts)}
	for _, nt := range taints {
		b, err := encode(nt.Taint)
		if err != nil {
			return nil, err
		}
		args = append(args, nt.Address, b)
	}
	return args, nil
}

// Apply implements Store.
func (s *Redis) Apply(ctx context.Context, chain, key string, taints []rules.NewTaint,
	alerts []byte) error {
	return s.ApplyAll(ctx, chain, []Effect{{Key: key, Taints: taints, Alerts: alerts}})
}

// ApplyAll implements Store with one pipeline of scripts.
func (s *Redis) ApplyAll(ctx context.Context, chain string, effects []Effect) error {
	if len(effects) == 0 {
		return nil
	}
	err := s.applyAll(ctx, chain, effects)
	if err != nil && strings.Contains(err.Error(), "NOSCRIPT") {
		// The server lost its script cache (a restart): load it and run again; applying
		// is idempotent.
		if err := applyScript.Load(ctx, s.rdb).Err(); err != nil {
			return fmt.Errorf("load apply script: %w", err)
		}
		err = s.applyAll(ctx, chain, effects)
	}
	return err
}

func (s *Redis) applyAll(ctx context.Context, chain string, effects []Effect) error {
	pipe := s.rdb.Pipeline()
	for _, e := range effects {
		args, err := applyArgs(e.Taints, e.Alerts)
		if err != nil {
			return err
		}
		applyScript.EvalSha(ctx, pipe, s.keys(chain, e.Key), args...)
	}
	cmds, err := pipe.Exec(ctx)
	if err != nil {
		return fmt.Errorf("apply %d effects: %w", len(effects), err)
	}
	for _, c := range cmds {
		if err := c.Err(); err != nil {
			return fmt.Errorf("apply: %w", err)
		}
	}
	return nil
}

// Undo implements Store.
func (s *Redis) Undo(ctx context.Context, chain, key string) ([]byte, error) {
	v, err := undoScript.Run(ctx, s.rdb, s.keys(chain, key)).Result()
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
	if err := s.rdb.Del(ctx, s.key(chain, "alerted:"+key)).Err(); err != nil {
		return fmt.Errorf("forget %s: %w", key, err)
	}
	return nil
}
