package queue

// What stays in a chain's stream once acknowledged: Trim drops the oldest, Judged reads
// them back.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Trim drops acknowledged entries from the front of chain's stream: it never removes an
// entry that is pending or not yet handed out, and keeps at least keep entries.
func (q *Redis) Trim(ctx context.Context, chain string, keep int64) (int64, error) {
	if err := q.ensureGroup(ctx, chain); err != nil {
		return 0, err
	}
	stream := q.StreamKey(chain)
	minID, err := q.firstNeeded(ctx, chain)
	if err != nil {
		return 0, fmt.Errorf("trim %s: %w", chain, err)
	}
	if keep > 0 { // keep the newest entries whatever their state
		tail, err := q.rdb.XRevRangeN(ctx, stream, "+", "-", keep).Result()
		if err != nil {
			return 0, fmt.Errorf("trim %s: %w", chain, err)
		}
		if int64(len(tail)) < keep {
			return 0, nil // the stream is within the budget
		}
		if oldestKept := tail[len(tail)-1].ID; minID == "" || lessID(oldestKept, minID) {
			minID = oldestKept
		}
	}
	if minID == "" {
		return 0, nil
	}
	n, err := q.rdb.XTrimMinID(ctx, stream, minID).Result()
	if err != nil {
		return 0, fmt.Errorf("trim %s: %w", chain, err)
	}
	return n, nil
}

// firstNeeded returns the id of the oldest entry of chain's stream that the group still
// needs: the oldest pending one, else the first after the last handed out ("" if the group
// is missing). Every entry before it is acknowledged.
func (q *Redis) firstNeeded(ctx context.Context, chain string) (string, error) {
	stream := q.StreamKey(chain)
	p, err := q.rdb.XPending(ctx, stream, q.group).Result()
	if err != nil {
		return "", err
	}
	if p.Count > 0 {
		return p.Lower, nil
	}
	groups, err := q.rdb.XInfoGroups(ctx, stream).Result()
	if err != nil {
		return "", err
	}
	for _, g := range groups {
		if g.Name != q.group {
			continue
		}
		next, err := q.rdb.XRangeN(ctx, stream, "("+g.LastDeliveredID, "+", 1).Result()
		if err != nil {
			return "", err
		}
		if len(next) == 0 {
			return incrID(g.LastDeliveredID), nil
		}
		return next[0].ID, nil
	}
	return "", nil
}

// Judged returns up to count of the entries of chain's stream that the group has
// acknowledged, newest first, from the newest one before every entry it still needs
// (before ""), or from the newest one before the entry before names (the oldest of the
// entries the last call returned, to read further back). Acknowledged entries stay in the
// stream until Trim drops them: a worker that comes to own the chain reads the movements
// judged before it from them, for what its learners remember (deposit addresses, fan-in).
func (q *Redis) Judged(ctx context.Context, chain, before string, count int) ([]Message,
	error) {
	if err := q.ensureGroup(ctx, chain); err != nil {
		return nil, err
	}
	if before == "" {
		first, err := q.firstNeeded(ctx, chain)
		if err != nil {
			return nil, fmt.Errorf("judged entries of %s: %w", chain, err)
		}
		if first == "" {
			return nil, nil
		}
		before = first
	}
	xs, err := q.rdb.XRevRangeN(ctx, q.StreamKey(chain), "("+before, "-",
		int64(count)).Result()
	if err != nil {
		return nil, fmt.Errorf("judged entries of %s: %w", chain, err)
	}
	return messages(chain, xs), nil
}

func parseID(id string) (ms, seq uint64) {
	a, b, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(a, 10, 64)
	seq, _ = strconv.ParseUint(b, 10, 64)
	return ms, seq
}

func lessID(a, b string) bool {
	am, as := parseID(a)
	bm, bs := parseID(b)
	return am < bm || (am == bm && as < bs)
}

func incrID(id string) string {
	ms, seq := parseID(id)
	return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq+1, 10)
}
