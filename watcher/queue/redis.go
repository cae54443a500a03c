package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	_ Journal  = (*Redis)(nil)
	_ Consumer = (*Redis)(nil)
)

// DefaultGroup is the consumer group of the rules workers.
const DefaultGroup = "rules"

// minBlock is the shortest XREADGROUP block time; BLOCK 0 would mean "forever".
const minBlock = time.Millisecond

// Redis is the queue on Redis Streams. Every key of a chain carries the chain's hash tag,
// fw:{<chain>}:..., so that one chain's keys live in one Redis Cluster slot and the Lua
// scripts may touch them together.
type Redis struct {
	rdb redis.UniversalClient
	// reads is rdb without retries, for XREADGROUP (see NewRedis), made by the first Read;
	// closeReads closes it.
	readsOnce  sync.Once
	reads      redis.UniversalClient
	closeReads func() error
	prefix     string
	group      string

	groups sync.Map // chain -> struct{}: consumer group known to exist
}

// RedisOptions configure a Redis queue.
type RedisOptions struct {
	// Prefix starts every key; default "fw". Tests use their own to stay apart.
	Prefix string
	// Group is the consumer group; default DefaultGroup.
	Group string
}

// NewRedis returns a queue over rdb, which may be a single node or a cluster client. Its
// reads go through a client of its own to the same Redis that does not retry a command
// that failed on the way, as go-redis does by default: XREADGROUP hands entries out as it
// runs, so a retry after its reply was lost (Redis killed, a connection cut) would hand
// out the next entries, and those of the lost reply would sit pending under the consumer,
// unseen, while it judged later ones: movements judged out of order (a deposit address's
// sweep before its deposit). Without the retry the read fails, and the worker takes what
// is pending over in order first. The queue's other commands are safe to retry (CAS
// scripts, acknowledgements, claims). Close closes that client; a queue never read makes
// none.
func NewRedis(rdb redis.UniversalClient, opts RedisOptions) *Redis {
	if opts.Prefix == "" {
		opts.Prefix = "fw"
	}
	if opts.Group == "" {
		opts.Group = DefaultGroup
	}
	return &Redis{rdb: rdb, prefix: opts.Prefix, group: opts.Group}
}

// reader returns the queue's client for reads, made the first time.
func (q *Redis) reader() redis.UniversalClient {
	q.readsOnce.Do(func() { q.reads, q.closeReads = withoutRetries(q.rdb) })
	return q.reads
}

// Close closes the queue's own client for reads, if a Read made it (not rdb, the
// caller's). The queue must not be read after.
func (q *Redis) Close() error {
	q.readsOnce.Do(func() { q.closeReads = func() error { return nil } })
	return q.closeReads()
}

// withoutRetries returns a client to the same Redis as rdb that does not retry, and what
// closes it; a client of a type it does not know is returned as it is, with a close that
// does nothing.
func withoutRetries(rdb redis.UniversalClient) (redis.UniversalClient, func() error) {
	switch c := rdb.(type) {
	case *redis.Client:
		o := *c.Options()
		o.MaxRetries = -1
		n := redis.NewClient(&o)
		return n, n.Close
	case *redis.ClusterClient:
		o := *c.Options()
		o.MaxRetries = -1
		n := redis.NewClusterClient(&o)
		return n, n.Close
	}
	return rdb, func() error { return nil }
}

func (q *Redis) key(chain, what string) string {
	return q.prefix + ":{" + chain + "}:" + what
}

func (q *Redis) recordKey(chain string, n uint64) string {
	return q.key(chain, "rec:"+strconv.FormatUint(n, 10))
}

// StreamKey returns the stream that carries chain's movements.
func (q *Redis) StreamKey(chain string) string { return q.key(chain, "movements") }

// casTip starts the journal's scripts: it fails with FENCED unless the poller lease
// (KEYS[3]) holds ARGV[1] (when not ""), and with CONFLICT unless the cursor (KEYS[2]) is
// what ARGV[2..4] (valid, number, hash) expect.
const casTip = `
if ARGV[1] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[1] then
  return redis.error_reply('FENCED')
end
local cur = redis.call('HMGET', KEYS[2], 'number', 'hash')
if ARGV[2] == '1' then
  if cur[1] ~= ARGV[3] or cur[2] ~= ARGV[4] then return redis.error_reply('CONFLICT') end
elseif cur[1] then
  return redis.error_reply('CONFLICT')
end
`

// appendScript: KEYS stream, tip, lease, then per block its record and the record it
// drops; ARGV holder, expect(valid, number, hash), then per block: number, hash, record
// header, drop-old flag, entry count n, and n × (length prefix, entry). A record is its
// header followed by the prefixed entries (record.go). All blocks or none.
var appendScript = redis.NewScript(casTip + `
local a = 5
local number, hash
for k = 4, #KEYS, 2 do
  number, hash = ARGV[a], ARGV[a + 1]
  local rec, drop, n = {ARGV[a + 2]}, ARGV[a + 3], tonumber(ARGV[a + 4])
  a = a + 5
  for i = 1, n do
    redis.call('XADD', KEYS[1], '*', 'b', ARGV[a + 1])
    rec[#rec + 1] = ARGV[a]
    rec[#rec + 1] = ARGV[a + 1]
    a = a + 2
  end
  redis.call('SET', KEYS[k], table.concat(rec))
  if drop == '1' then redis.call('DEL', KEYS[k + 1]) end
end
redis.call('HSET', KEYS[2], 'number', number, 'hash', hash)
return 'OK'
`)

// rollbackScript: KEYS stream, tip, lease, records to forget...; ARGV holder,
// expect(valid, number, hash), to(valid, number, hash), entries...
var rollbackScript = redis.NewScript(casTip + `
for i = 8, #ARGV do redis.call('XADD', KEYS[1], '*', 'b', ARGV[i]) end
for i = 4, #KEYS do redis.call('DEL', KEYS[i]) end
if ARGV[5] == '1' then
  redis.call('HSET', KEYS[2], 'number', ARGV[6], 'hash', ARGV[7])
else
  redis.call('DEL', KEYS[2])
end
return 'OK'
`)

func tipArgs(t Tip) []any {
	if !t.Valid {
		return []any{"0", "", ""}
	}
	return []any{"1", strconv.FormatUint(t.Number, 10), t.Hash}
}

func scriptErr(err error) error {
	switch {
	case err == nil:
		return nil
	case strings.Contains(err.Error(), "CONFLICT"):
		return ErrConflict
	case strings.Contains(err.Error(), "FENCED"):
		return ErrFenced
	}
	return err
}

// heads are the journal scripts' first keys and arguments: stream, tip and lease (the tip
// again when unfenced: any key of the chain's slot), and the holder ("": unfenced).
func (q *Redis) heads(chain, holder string) ([]string, []any) {
	lease := q.key(chain, "tip")
	if holder != "" {
		lease = q.PollerLeaseKey(chain)
	}
	return []string{q.StreamKey(chain), q.key(chain, "tip"), lease}, []any{holder}
}

// Tip implements Journal.
func (q *Redis) Tip(ctx context.Context, chain string) (Tip, error) {
	v, err := q.rdb.HMGet(ctx, q.key(chain, "tip"), "number", "hash").Result()
	if err != nil {
		return Tip{}, fmt.Errorf("read tip of %s: %w", chain, err)
	}
	if v[0] == nil {
		return Tip{}, nil
	}
	s, _ := v[0].(string)
	h, _ := v[1].(string)
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return Tip{}, fmt.Errorf("read tip of %s: bad number %q", chain, s)
	}
	return Tip{Number: n, Hash: h, Valid: true}, nil
}

// Record implements Journal.
func (q *Redis) Record(ctx context.Context, chain string, n uint64) (Record, bool, error) {
	b, err := q.rdb.Get(ctx, q.recordKey(chain, n)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("read record %d of %s: %w", n, chain, err)
	}
	hash, parent, payloads, err := decodeRecord(b)
	if err != nil {
		return Record{}, false, fmt.Errorf("decode record %d of %s: %w", n, chain, err)
	}
	return Record{Number: n, Hash: hash, ParentHash: parent, Payloads: payloads}, true, nil
}

// Append implements Journal.
func (q *Redis) Append(ctx context.Context, chain string, expect Tip, rec Record,
	depth int) error {
	return q.AppendBlocks(ctx, chain, expect, []Record{rec}, depth)
}

// AppendBlocks implements Journal with one script call.
func (q *Redis) AppendBlocks(ctx context.Context, chain string, expect Tip, recs []Record,
	depth int) error {
	return q.appendBlocks(ctx, chain, "", expect, recs, depth)
}

func (q *Redis) appendBlocks(ctx context.Context, chain, holder string, expect Tip,
	recs []Record, depth int) error {
	if len(recs) == 0 {
		return nil
	}
	keys, args := q.heads(chain, holder)
	args = append(args, tipArgs(expect)...)
	for _, rec := range recs {
		cs := chunks(rec.Payloads)
		dropOld, old := "0", q.recordKey(chain, rec.Number) // old must be a key of this slot
		if depth > 0 && rec.Number >= uint64(depth) {
			dropOld, old = "1", q.recordKey(chain, rec.Number-uint64(depth))
		}
		keys = append(keys, q.recordKey(chain, rec.Number), old)
		args = append(args, strconv.FormatUint(rec.Number, 10), rec.Hash,
			recordHeader(rec.Hash, rec.ParentHash, len(cs)), dropOld, len(cs))
		for _, c := range cs {
			e := encodeEntry(c)
			args = append(args, entryPrefix(e), e)
		}
	}
	if err := scriptErr(appendScript.Run(ctx, q.rdb, keys, args...).Err()); err != nil {
		if len(recs) == 1 {
			return fmt.Errorf("append block %d of %s: %w", recs[0].Number, chain, err)
		}
		return fmt.Errorf("append blocks %d-%d of %s: %w", recs[0].Number,
			recs[len(recs)-1].Number, chain, err)
	}
	return nil
}

// Rollback implements Journal.
func (q *Redis) Rollback(ctx context.Context, chain string, expect, to Tip,
	removed [][]byte) error {
	return q.rollback(ctx, chain, "", expect, to, removed)
}

func (q *Redis) rollback(ctx context.Context, chain, holder string, expect, to Tip,
	removed [][]byte) error {
	keys, args := q.heads(chain, holder)
	if expect.Valid {
		first := uint64(0)
		if to.Valid {
			first = to.Number + 1
		}
		for n := first; n <= expect.Number; n++ {
			keys = append(keys, q.recordKey(chain, n))
		}
	}
	args = append(append(args, tipArgs(expect)...), tipArgs(to)...)
	for _, c := range chunks(removed) {
		args = append(args, encodeEntry(c))
	}
	if err := scriptErr(rollbackScript.Run(ctx, q.rdb, keys, args...).Err()); err != nil {
		return fmt.Errorf("roll %s back to %d: %w", chain, to.Number, err)
	}
	return nil
}

func (q *Redis) ensureGroup(ctx context.Context, chain string) error {
	if _, ok := q.groups.Load(chain); ok {
		return nil
	}
	err := q.rdb.XGroupCreateMkStream(ctx, q.StreamKey(chain), q.group, "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create group %s on %s: %w", q.group, chain, err)
	}
	q.groups.Store(chain, struct{}{})
	return nil
}

func messages(chain string, xs []redis.XMessage) []Message {
	out := make([]Message, 0, len(xs))
	for _, x := range xs {
		m := Message{ID: x.ID, Chain: chain}
		if b, ok := x.Values["b"].(string); ok {
			m.Payloads, m.Err = decodeEntry([]byte(b))
		} else if p, ok := x.Values["m"].(string); ok { // one payload, as earlier versions wrote
			m.Payloads = [][]byte{[]byte(p)}
		} else {
			m.Err = errors.New("entry has no payload field")
		}
		if m.Err != nil {
			m.Err = fmt.Errorf("entry %s of %s: %w", x.ID, chain, m.Err)
		}
		out = append(out, m)
	}
	return out
}

// Read implements Consumer.
func (q *Redis) Read(ctx context.Context, chain, consumer string, count int,
	block time.Duration) ([]Message, error) {
	if err := q.ensureGroup(ctx, chain); err != nil {
		return nil, err
	}
	res, err := q.reader().XReadGroup(ctx, &redis.XReadGroupArgs{Group: q.group,
		Consumer: consumer, Streams: []string{q.StreamKey(chain), ">"}, Count: int64(count),
		Block: max(block, minBlock)}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", chain, err)
	}
	var out []Message
	for _, s := range res {
		out = append(out, messages(chain, s.Messages)...)
	}
	return out, nil
}

// Ack implements Consumer.
func (q *Redis) Ack(ctx context.Context, chain string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := q.rdb.XAck(ctx, q.StreamKey(chain), q.group, ids...).Err(); err != nil {
		return fmt.Errorf("ack %s: %w", chain, err)
	}
	return nil
}

// Claim implements Consumer with XAUTOCLAIM.
func (q *Redis) Claim(ctx context.Context, chain, consumer string, minIdle time.Duration,
	count int) ([]Message, error) {
	if err := q.ensureGroup(ctx, chain); err != nil {
		return nil, err
	}
	var out []Message
	start := "0-0"
	for len(out) < count {
		xs, next, err := q.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: q.StreamKey(chain), Group: q.group, Consumer: consumer, MinIdle: minIdle,
			Start: start, Count: int64(count - len(out))}).Result()
		if err != nil {
			return nil, fmt.Errorf("claim %s: %w", chain, err)
		}
		out = append(out, messages(chain, xs)...)
		if next == "0-0" {
			break
		}
		start = next
	}
	return out, nil
}

// Backlog implements Consumer: pending entries plus the group's lag.
func (q *Redis) Backlog(ctx context.Context, chain string) (int64, error) {
	if err := q.ensureGroup(ctx, chain); err != nil {
		return 0, err
	}
	groups, err := q.rdb.XInfoGroups(ctx, q.StreamKey(chain)).Result()
	if err != nil {
		return 0, fmt.Errorf("backlog of %s: %w", chain, err)
	}
	for _, g := range groups {
		if g.Name != q.group {
			continue
		}
		if g.Lag == 0 {
			return g.Pending, nil
		}
		// The group's lag comes from a counter of entries read that Redis does not keep
		// exactly across an append-only-file reload (seen after restarts: a lag of a
		// thousand with every entry delivered, which held the poller back for good).
		// What the stream holds past the last delivered entry is the truth.
		next, err := q.rdb.XRangeN(ctx, q.StreamKey(chain), "("+g.LastDeliveredID, "+",
			1).Result()
		if err != nil {
			return 0, fmt.Errorf("backlog of %s: %w", chain, err)
		}
		switch {
		case len(next) == 0:
			return g.Pending, nil
		case g.Lag < 0: // unknown after deletions in the unread range: count the stream
			n, err := q.rdb.XLen(ctx, q.StreamKey(chain)).Result()
			return n, err
		}
		return g.Pending + g.Lag, nil
	}
	return 0, fmt.Errorf("backlog of %s: group %s missing", chain, q.group)
}
