package streamaudit

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/queue"
)

// Settled reports whether chain's cursor (under key prefix) is at block head and the rules
// workers have nothing pending or unread; state says where it is, for a timeout's message.
func Settled(ctx context.Context, rdb redis.UniversalClient, prefix, chain string,
	head uint64) (ok bool, state string, err error) {
	q := queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix})
	tip, err := q.Tip(ctx, chain)
	if err != nil {
		return false, "", err
	}
	backlog, err := q.Backlog(ctx, chain) // pending and unread
	if err != nil {
		return false, "", err
	}
	state = fmt.Sprintf("tip %d of %d, backlog %d", tip.Number, head, backlog)
	return tip.Valid && tip.Number == head && backlog == 0, state, nil
}

// Result is what Audit found. A movement is counted in the block it was published in (its
// key and the block's hash): a publication as removed, which a reorg's rollback makes,
// takes one back, so that a movement published in an orphaned block, removed, and
// published again in the new branch counts once.
type Result struct {
	Chain     int      // movements of the range on the chain
	Published int      // movements in the stream, net of those published as removed
	Removed   []string // keys of movements published as removed (a reorg's)
	Missing   []string // keys of the chain's movements not in the stream
	Doubled   []string // keys of those in it more than once
	// Stale are keys of movements published in a block the chain no longer holds and
	// not removed since: a reorg not undone.
	Stale []string
}

// Audit reads chain's whole stream (under key prefix) through a consumer group of its own
// ("audit") and compares it with the movements src gives of blocks from..to.
func Audit(ctx context.Context, rdb redis.UniversalClient, prefix, chain string,
	src chains.Source, from, to uint64) (Result, error) {
	var res Result
	var want []chains.Movement
	if err := chains.Stream(ctx, src, from, to, 8, func(b *chains.Block) error {
		want = append(want, b.Movements...)
		return nil
	}); err != nil {
		return res, err
	}
	res.Chain = len(want)
	audit := queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix, Group: "audit"})
	defer audit.Close()
	// Publications net of removals, by movement and the block published in.
	type at struct {
		key, hash string
		block     uint64
	}
	count := map[at]int{}
	atOf := func(m *chains.Movement) at { return at{m.Key(), m.Block.Hash, m.Block.Number} }
	for {
		entries, err := audit.Read(ctx, chain, "auditor", 1000, time.Millisecond)
		if err != nil {
			return res, err
		}
		if len(entries) == 0 {
			break
		}
		for _, e := range entries {
			if e.Err != nil {
				return res, e.Err
			}
			for _, p := range e.Payloads {
				m, err := chains.UnmarshalMovement(p)
				if err != nil {
					return res, fmt.Errorf("entry %s: %w", e.ID, err)
				}
				if m.Removed {
					res.Removed = append(res.Removed, m.Key())
					count[atOf(&m)]--
					res.Published--
					continue
				}
				count[atOf(&m)]++
				res.Published++
			}
		}
	}
	for i := range want {
		m := &want[i]
		switch n := count[atOf(m)]; {
		case n <= 0:
			res.Missing = append(res.Missing, m.Key())
		case n > 1:
			res.Doubled = append(res.Doubled, m.Key()+" ×"+strconv.Itoa(n))
		}
		delete(count, atOf(m))
	}
	for k, n := range count {
		if n != 0 && k.block >= from && k.block <= to {
			res.Stale = append(res.Stale, k.key+"@"+k.hash+" ×"+strconv.Itoa(n))
		}
	}
	slices.Sort(res.Stale)
	return res, nil
}
