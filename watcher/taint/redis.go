package taint

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowwatch/flowwatch/watcher/rules"
)

var _ Store = (*Redis)(nil)

// DefaultUndoTTL is how long a movement's record (what it overwrote, the alerts it raised)
// is kept for a reorg to undo it: far longer than any reorg a confirmations setting
// leaves room for, on any chain.
const DefaultUndoTTL = 7 * 24 * time.Hour

// Redis is the Store in Redis: per chain a hash of key -> taint, a hash of counters, per
// movement a record of what it overwrote and the alerts it raised (expiring after
// DefaultUndoTTL), and a feed of the keys written (a stream, for Index). Keys carry the
// chain's hash tag.
type Redis struct {
	rdb     redis.UniversalClient
	prefix  string
	undoTTL time.Duration
	feedLen int64
}

// DefaultFeedLen bounds the feed of written keys (entries, one per ApplyAll that wrote
// some; trimmed approximately): an Index that falls further behind scans the store again.
const DefaultFeedLen = 100_000

// NewRedis returns a store over rdb; prefix starts every key (default "fw").
func NewRedis(rdb redis.UniversalClient, prefix string) *Redis {
	if prefix == "" {
		prefix = "fw"
	}
	return &Redis{rdb: rdb, prefix: prefix, undoTTL: DefaultUndoTTL, feedLen: DefaultFeedLen}
}

func (s *Redis) key(chain, what string) string { return s.prefix + ":{" + chain + "}:" + what }

// DefaultKeysScan is how many fields one HSCAN of Keys asks for.
const DefaultKeysScan = 5000

// Keys implements Store: an HSCAN of the chain's taint hash.
func (s *Redis) Keys(ctx context.Context, chain string, fn func(key string)) error {
	return s.scanKeys(ctx, chain, DefaultKeysScan, fn)
}

// scanKeys is Keys with count fields asked per HSCAN.
func (s *Redis) scanKeys(ctx context.Context, chain string, count int, fn func(string)) error {
	var cursor uint64
	for {
		fields, next, err := s.rdb.HScan(ctx, s.key(chain, "taint"), cursor, "",
			int64(count)).Result()
		if err != nil {
			return fmt.Errorf("scan the taint of %s: %w", chain, err)
		}
		for i := 0; i < len(fields); i += 2 {
			fn(fields[i])
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

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

// applyScript applies a batch of effects at once. KEYS: the fence key, the taint hash, the
// counters hash, the feed stream, the feed's sequence counter, then per effect its record;
// ARGV: the fence holder ("": no fence), the record's time to live (ms), the feed's length
// bound, then per effect the number of taints n and the alerts ("" none), then n × (key,
// taint, counter). An effect whose record exists is applied already and skipped. Each
// write keeps the key's earlier value in the record ("u:<key>", "" when it had none), and
// a new key's counter ("c:<key>"), for Undo. The keys written are added to the feed as one
// entry numbered by the sequence counter (Index follows it). Nothing is written unless the
// fence key holds the holder.
var applyScript = redis.NewScript(`
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('FENCED')
end
local a = 4
local written = {}
for k = 6, #KEYS do
  local n = tonumber(ARGV[a])
  local alerts = ARGV[a + 1]
  a = a + 2
  local fresh = redis.call('EXISTS', KEYS[k]) == 0
  for i = 1, n do
    if fresh then
      local key, val, counter = ARGV[a], ARGV[a + 1], ARGV[a + 2]
      local old = redis.call('HGET', KEYS[2], key)
      redis.call('HSETNX', KEYS[k], 'u:' .. key, old or '')
      redis.call('HSET', KEYS[2], key, val)
      written[#written + 1] = key
      if counter ~= '' and not old then
        redis.call('HINCRBY', KEYS[3], counter, 1)
        redis.call('HSET', KEYS[k], 'c:' .. key, counter)
      end
    end
    a = a + 3
  end
  if fresh and (n > 0 or alerts ~= '') then
    redis.call('HSET', KEYS[k], 'k', '1')
    if alerts ~= '' then redis.call('HSET', KEYS[k], 'a', alerts) end
    redis.call('PEXPIRE', KEYS[k], ARGV[2])
  end
end
if #written > 0 then
  local seq = redis.call('INCR', KEYS[5])
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], '*', 's', seq, 'k',
    table.concat(written, '\n'))
end
return 'OK'
`)

// undoScript: KEYS the taint hash, the counters hash, the movement's record, and the sets
// an earlier version kept (the keys it tainted, its alerts). It restores what the movement
// overwrote, takes back the counts of the keys it added, and returns its alerts (or
// false), which stay until Forget.
var undoScript = redis.NewScript(`
local fields = redis.call('HGETALL', KEYS[3])
for i = 1, #fields, 2 do
  local f, v = fields[i], fields[i + 1]
  local kind = string.sub(f, 1, 2)
  if kind == 'u:' then
    if v == '' then
      redis.call('HDEL', KEYS[1], string.sub(f, 3))
    else
      redis.call('HSET', KEYS[1], string.sub(f, 3), v)
    end
    redis.call('HDEL', KEYS[3], f)
  elseif kind == 'c:' then
    redis.call('HINCRBY', KEYS[2], v, -1)
    redis.call('HDEL', KEYS[3], f)
  end
end
redis.call('HDEL', KEYS[3], 'k')
local addrs = redis.call('SMEMBERS', KEYS[4])
if #addrs > 0 then redis.call('HDEL', KEYS[1], unpack(addrs)) end
redis.call('DEL', KEYS[4])
local alerts = redis.call('HGET', KEYS[3], 'a')
if alerts then return alerts end
return redis.call('GET', KEYS[5])
`)

// recordedScript: KEYS movements' records; returns per record its alerts ("" none) if it
// is applied, else false.
var recordedScript = redis.NewScript(`
local out = {}
for i = 1, #KEYS do
  if redis.call('HEXISTS', KEYS[i], 'k') == 1 then
    out[i] = redis.call('HGET', KEYS[i], 'a') or ''
  else
    out[i] = false
  end
end
return out
`)

// record is movement key's record of what it did; the by set and alerted key are where an
// earlier version kept that.
func (s *Redis) record(chain, key string) string { return s.key(chain, "mv:"+key) }

func (s *Redis) legacyKeys(chain, key string) (by, alerted string) {
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
	keys := make([]string, 5, 5+len(effects))
	keys[0], keys[1], keys[2] = fenceKey, s.key(chain, "taint"), s.key(chain, "tracked")
	keys[3], keys[4] = s.key(chain, "feed"), s.key(chain, "feedseq")
	args := []any{fence.Holder, s.undoTTL.Milliseconds(), s.feedLen}
	for _, e := range effects {
		keys = append(keys, s.record(chain, e.Key))
		args = append(args, len(e.Taints), string(e.Alerts))
		for _, nt := range e.Taints {
			b, err := encode(nt.Taint)
			if err != nil {
				return err
			}
			args = append(args, nt.Address, b, nt.Counter)
		}
	}
	// Run sends the script's hash and loads it when the server lost it (a restart).
	if err := applyScript.Run(ctx, s.rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("apply %d effects: %w", len(effects), err)
	}
	return nil
}

// Undo implements Store.
func (s *Redis) Undo(ctx context.Context, chain, key string) ([]byte, error) {
	by, alerted := s.legacyKeys(chain, key)
	v, err := undoScript.Run(ctx, s.rdb, []string{s.key(chain, "taint"),
		s.key(chain, "tracked"), s.record(chain, key), by, alerted}).Result()
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
	_, alerted := s.legacyKeys(chain, key)
	if err := s.rdb.Del(ctx, s.record(chain, key), alerted).Err(); err != nil {
		return fmt.Errorf("forget %s: %w", key, err)
	}
	return nil
}

// Recorded implements Store.
func (s *Redis) Recorded(ctx context.Context, chain string, keys ...string) (
	map[string][]byte, error) {
	out := map[string][]byte{}
	if len(keys) == 0 {
		return out, nil
	}
	records := make([]string, len(keys))
	for i, k := range keys {
		records[i] = s.record(chain, k)
	}
	vals, err := recordedScript.Run(ctx, s.rdb, records).Slice()
	if err != nil {
		return nil, fmt.Errorf("read records on %s: %w", chain, err)
	}
	for i, v := range vals {
		if str, ok := v.(string); ok && i < len(keys) {
			out[keys[i]] = []byte(str)
		}
	}
	return out, nil
}

// Tracked implements Store.
func (s *Redis) Tracked(ctx context.Context, chain string) (map[string]int64, error) {
	vals, err := s.rdb.HGetAll(ctx, s.key(chain, "tracked")).Result()
	if err != nil {
		return nil, fmt.Errorf("read counters of %s: %w", chain, err)
	}
	out := make(map[string]int64, len(vals))
	for k, v := range vals {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("counter %s of %s: %w", k, chain, err)
		}
		out[k] = n
	}
	return out, nil
}
