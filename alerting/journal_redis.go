package alerting

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

var _ Journal = (*RedisJournal)(nil)

// RedisJournal is the Journal in Redis: a stream whose entry ids are the sequence numbers
// ("<seq>-0"), the head (last sequence number and hash) in a hash, and a key per
// notification appended, expiring after the TTL. Every key carries the hash tag {alerts},
// so that one script can write them all on Redis Cluster. Several processes may append at
// once: each append checks that the head is the one it built on, and builds again if not.
// Safe for concurrent use.
type RedisJournal struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
	now    func() time.Time
}

// NewRedisJournal returns the journal under prefix (default "fw"); now nil means time.Now.
func NewRedisJournal(rdb redis.UniversalClient, prefix string,
	now func() time.Time) *RedisJournal {
	if prefix == "" {
		prefix = "fw"
	}
	if now == nil {
		now = time.Now
	}
	return &RedisJournal{rdb: rdb, prefix: prefix, ttl: DefaultDedupTTL, now: now}
}

func (j *RedisJournal) key(what string) string { return j.prefix + ":{alerts}:" + what }

// StreamKey is the stream that holds the entries.
func (j *RedisJournal) StreamKey() string { return j.key("log") }

// maxAppendTries bounds how often an append builds again on a head another process moved.
const maxAppendTries = 50

// appendScript: KEYS the stream, the head, then per entry its notification's key; ARGV the
// head's sequence number the entries build on, the notification keys' TTL (ms), the
// appending call's token (the notification keys' value), then per entry seq, time, prev,
// hash, body. It appends nothing and answers CONFLICT when the head moved or a
// notification was appended meanwhile.
var appendScript = redis.NewScript(`
local head = redis.call('HGET', KEYS[2], 'seq') or '0'
if head ~= ARGV[1] then return 'CONFLICT' end
for i = 3, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 'CONFLICT' end
end
local a = 4
for i = 3, #KEYS do
  redis.call('XADD', KEYS[1], ARGV[a] .. '-0', 'seq', ARGV[a], 'time', ARGV[a + 1],
    'prev', ARGV[a + 2], 'hash', ARGV[a + 3], 'alert', ARGV[a + 4])
  redis.call('SET', KEYS[i], ARGV[3], 'PX', ARGV[2])
  a = a + 5
end
redis.call('HSET', KEYS[2], 'seq', ARGV[a - 5], 'hash', ARGV[a - 2])
return 'OK'
`)

// Append implements Journal. A try whose reply was lost, sent again by the client (which
// then finds the head moved), is known by the token it left on the notification keys: the
// entries it appended are returned, as if its reply had come.
func (j *RedisJournal) Append(ctx context.Context, alerts ...Alert) ([]Entry, error) {
	if len(alerts) == 0 {
		return nil, nil
	}
	token := rand.Text()
	var tried []Entry // the last try's entries, in case it was done after all
	for try := 0; try < maxAppendTries; try++ {
		pipe := j.rdb.Pipeline()
		head := pipe.HMGet(ctx, j.key("head"), "seq", "hash")
		sent := make([]*redis.StringCmd, len(alerts))
		for i := range alerts {
			sent[i] = pipe.Get(ctx, j.key("sent:"+alerts[i].DedupKey()))
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("read alert log head: %w", err)
		}
		seq, hash, err := parseHead(head.Val())
		if err != nil {
			return nil, err
		}
		var fresh []Alert
		keys := []string{j.key("log"), j.key("head")}
		inCall, ours := map[string]bool{}, map[string]bool{}
		for i := range alerts {
			k := alerts[i].DedupKey()
			if sent[i].Val() == token {
				ours[k] = true
			}
			if sent[i].Err() == nil || inCall[k] {
				continue
			}
			inCall[k] = true
			fresh, keys = append(fresh, alerts[i]), append(keys, j.key("sent:"+k))
		}
		if len(ours) > 0 && len(ours) == len(tried) {
			return tried, nil // the last try was done: its reply was lost
		}
		if len(fresh) == 0 {
			return nil, nil
		}
		es, err := newEntries(seq, hash, j.now().UTC(), fresh)
		if err != nil {
			return nil, err
		}
		tried = es
		args := []any{strconv.FormatUint(seq, 10), j.ttl.Milliseconds(), token}
		for i := range es {
			args = append(args, entryArgs(&es[i])...)
		}
		res, err := appendScript.Run(ctx, j.rdb, keys, args...).Text()
		if err != nil {
			return nil, fmt.Errorf("append to alert log: %w", err)
		}
		if res == "OK" {
			return es, nil
		}
	}
	return nil, errors.New("append to alert log: the head kept moving")
}

// parseHead reads the head hash's seq and hash fields (none yet: 0 and GenesisHash).
func parseHead(vals []any) (uint64, string, error) {
	s, _ := vals[0].(string)
	h, _ := vals[1].(string)
	if s == "" {
		return 0, GenesisHash, nil
	}
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil || h == "" {
		return 0, "", fmt.Errorf("alert log head: seq %q hash %q", s, h)
	}
	return seq, h, nil
}

// Head implements Journal.
func (j *RedisJournal) Head(ctx context.Context) (uint64, string, error) {
	vals, err := j.rdb.HMGet(ctx, j.key("head"), "seq", "hash").Result()
	if err != nil {
		return 0, "", fmt.Errorf("read alert log head: %w", err)
	}
	return parseHead(vals)
}

// Entries implements Journal.
func (j *RedisJournal) Entries(ctx context.Context, after uint64, n int) ([]Entry, error) {
	msgs, err := j.rdb.XRangeN(ctx, j.key("log"), strconv.FormatUint(after+1, 10)+"-0", "+",
		int64(n)).Result()
	if err != nil {
		return nil, fmt.Errorf("read alert log: %w", err)
	}
	out := make([]Entry, 0, len(msgs))
	for _, m := range msgs {
		e, err := parseEntry(m.ID, m.Values)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
