package alerting

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	_ DispatchStore = (*RedisDispatch)(nil)
	_ Leaser        = (*RedisDispatch)(nil)
)

// maxDeadLetters bounds each sink's dead letters.
const maxDeadLetters = 10000

// RedisDispatch is the DispatchStore and Leaser in Redis: the lease and the journal position
// in strings, the incidents in a hash (JSON by incident key), each sink's queue in a list
// (its id, a NUL, the JSON), its dead letters in another. Every key carries the hash tag
// {alerts}. Safe for concurrent use.
type RedisDispatch struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
}

// NewRedisDispatch returns the store under prefix (default "fw").
func NewRedisDispatch(rdb redis.UniversalClient, prefix string) *RedisDispatch {
	if prefix == "" {
		prefix = "fw"
	}
	return &RedisDispatch{rdb: rdb, prefix: prefix, now: time.Now}
}

func (s *RedisDispatch) key(what string) string { return s.prefix + ":{alerts}:" + what }

var leadScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`)

// Lead implements Leaser.
func (s *RedisDispatch) Lead(ctx context.Context, holder string, ttl time.Duration) (bool,
	error) {
	n, err := leadScript.Run(ctx, s.rdb, []string{s.key("dispatch:lease")}, holder,
		ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("dispatcher lease: %w", err)
	}
	return n == 1, nil
}

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// Release implements Leaser.
func (s *RedisDispatch) Release(ctx context.Context, holder string) error {
	if err := releaseScript.Run(ctx, s.rdb, []string{s.key("dispatch:lease")},
		holder).Err(); err != nil {
		return fmt.Errorf("release dispatcher lease: %w", err)
	}
	return nil
}

// Load implements DispatchStore.
func (s *RedisDispatch) Load(ctx context.Context) (uint64, []incidentState, error) {
	pipe := s.rdb.Pipeline()
	cur := pipe.Get(ctx, s.key("dispatch:cursor"))
	all := pipe.HGetAll(ctx, s.key("incidents"))
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return 0, nil, fmt.Errorf("load dispatcher state: %w", err)
	}
	var cursor uint64
	if v := cur.Val(); v != "" {
		var err error
		if cursor, err = strconv.ParseUint(v, 10, 64); err != nil {
			return 0, nil, fmt.Errorf("dispatcher cursor %q: %w", v, err)
		}
	}
	ins := make([]incidentState, 0, len(all.Val()))
	for k, v := range all.Val() {
		var in incidentState
		if err := json.Unmarshal([]byte(v), &in); err != nil {
			return 0, nil, fmt.Errorf("stored incident %q: %w", k, err)
		}
		ins = append(ins, in)
	}
	return cursor, ins, nil
}

// saveScript: KEYS the lease, the cursor, the incidents, the last save's token, then one
// queue per sink with notifications; ARGV the holder ("": no fence), the save's token, the
// cursor, the number of incidents gone and their keys, the number changed and (key, JSON)
// of each, then per queue the number of items and the items. A save whose token is the
// last one's was done already: a retry of a call whose reply was lost (go-redis retries),
// which would otherwise queue its notifications twice.
var saveScript = redis.NewScript(`
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('NOTLEADER')
end
if redis.call('GET', KEYS[4]) == ARGV[2] then return 'OK' end
redis.call('SET', KEYS[4], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
local a = 4
local n = tonumber(ARGV[a]); a = a + 1
for i = 1, n do redis.call('HDEL', KEYS[3], ARGV[a]); a = a + 1 end
n = tonumber(ARGV[a]); a = a + 1
for i = 1, n do redis.call('HSET', KEYS[3], ARGV[a], ARGV[a + 1]); a = a + 2 end
for k = 5, #KEYS do
  n = tonumber(ARGV[a]); a = a + 1
  for i = 1, n do redis.call('RPUSH', KEYS[k], ARGV[a]); a = a + 1 end
end
return 'OK'
`)

// Save implements DispatchStore. Each call is done at most once, even when the client
// sends it again (its token).
func (s *RedisDispatch) Save(ctx context.Context, c Changes) error {
	keys := []string{s.key("dispatch:lease"), s.key("dispatch:cursor"), s.key("incidents"),
		s.key("dispatch:saved")}
	args := []any{c.Holder, rand.Text(), strconv.FormatUint(c.Cursor, 10), len(c.Gone)}
	for _, k := range c.Gone {
		args = append(args, k)
	}
	args = append(args, len(c.Incidents))
	for k, in := range c.Incidents {
		b, err := json.Marshal(&in)
		if err != nil {
			return fmt.Errorf("encode incident %s: %w", in.ID, err)
		}
		args = append(args, k, b)
	}
	for sink, qs := range c.Queued {
		keys = append(keys, s.key("out:"+sink))
		args = append(args, len(qs))
		for i := range qs {
			b, err := json.Marshal(&qs[i])
			if err != nil {
				return fmt.Errorf("encode notification %s: %w", qs[i].ID, err)
			}
			args = append(args, qs[i].ID+"\x00"+string(b))
		}
	}
	err := saveScript.Run(ctx, s.rdb, keys, args...).Err()
	if err != nil && strings.Contains(err.Error(), "NOTLEADER") {
		return ErrNotLeader
	}
	if err != nil {
		return fmt.Errorf("save dispatcher state: %w", err)
	}
	return nil
}

// Head implements DispatchStore.
func (s *RedisDispatch) Head(ctx context.Context, sink string) (Queued, bool, error) {
	v, err := s.rdb.LIndex(ctx, s.key("out:"+sink), 0).Result()
	if err == redis.Nil {
		return Queued{}, false, nil
	}
	if err != nil {
		return Queued{}, false, fmt.Errorf("read queue of %s: %w", sink, err)
	}
	_, body, _ := strings.Cut(v, "\x00")
	var q Queued
	if err := json.Unmarshal([]byte(body), &q); err != nil {
		return Queued{}, false, fmt.Errorf("queue of %s: head does not decode: %w", sink, err)
	}
	return q, true, nil
}

var doneScript = redis.NewScript(`
local h = redis.call('LINDEX', KEYS[1], 0)
if not h or string.sub(h, 1, #ARGV[1] + 1) ~= ARGV[1] .. '\0' then return 0 end
redis.call('LPOP', KEYS[1])
if ARGV[2] ~= '' then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
end
return 1
`)

// Done implements DispatchStore.
func (s *RedisDispatch) Done(ctx context.Context, sink, id, failure string) error {
	dead := ""
	if failure != "" {
		q, ok, err := s.Head(ctx, sink)
		if err != nil {
			return err
		}
		if !ok || q.ID != id {
			return nil
		}
		b, err := json.Marshal(DeadLetter{Queued: q, Failure: failure, At: s.now().UTC()})
		if err != nil {
			return err
		}
		dead = string(b)
	}
	err := doneScript.Run(ctx, s.rdb, []string{s.key("out:" + sink), s.key("dead:" + sink)},
		id, dead, maxDeadLetters).Err()
	if err != nil {
		return fmt.Errorf("mark notification %s: %w", id, err)
	}
	return nil
}

// Dead returns sink's dead letters, oldest first.
func (s *RedisDispatch) Dead(ctx context.Context, sink string) ([]DeadLetter, error) {
	vs, err := s.rdb.LRange(ctx, s.key("dead:"+sink), 0, -1).Result()
	if err != nil {
		return nil, err
	}
	out := make([]DeadLetter, len(vs))
	for i, v := range vs {
		if err := json.Unmarshal([]byte(v), &out[i]); err != nil {
			return nil, fmt.Errorf("dead letter of %s: %w", sink, err)
		}
	}
	return out, nil
}
