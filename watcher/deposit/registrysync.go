package deposit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// The fields of an entry of the change stream.
const (
	fieldChain        = "chain"
	fieldAddress      = "address"
	fieldRegistration = "registration" // JSON; absent: the address was unregistered
)

// changesPerRead is how many changes a Sync reads from the stream per command.
const changesPerRead = 10_000

// Sync reads what other processes registered or unregistered since the last Sync: the
// changes the stream added since, or, the first time and when the stream no longer holds
// them, every registration. A change made through this Registry while it reads, and
// missing from what it read, is made again over what was read. Syncs run one at a time.
func (r *Registry) Sync(ctx context.Context) error {
	if r.rdb == nil {
		return nil
	}
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	r.mu.Lock()
	r.reading++
	seen := r.seen
	r.mu.Unlock()
	var (
		all     map[string]map[string]Registration
		changes []change
		last    = seen
		err     error
	)
	full := seen == ""
	if !full {
		changes, last, full, err = r.readChanges(ctx, seen)
	}
	if err == nil && full {
		all, last, err = r.readAll(ctx)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reading--; r.reading == 0 {
		defer func() { r.during = r.during[:0] }()
	}
	if err != nil || all == nil && len(changes) == 0 {
		return err
	}
	if all != nil {
		r.byChain = all
	}
	for _, c := range changes {
		r.apply(c)
	}
	for _, c := range r.during {
		if after, err := idAfter(c.id, last); err != nil || after {
			r.apply(c) // made after what was read: what was read may undo it
		}
	}
	r.seen = last
	r.version++
	return nil
}

// readChanges reads the changes after seen, in order, and the ID of the last one (seen if
// there is none); full says that the stream no longer holds all of them (it was trimmed
// past seen, or deleted), so that every registration must be read instead.
func (r *Registry) readChanges(ctx context.Context, seen string) (_ []change, last string,
	full bool, _ error) {
	key := r.key("changes")
	pipe := r.rdb.Pipeline()
	first := pipe.XRangeN(ctx, key, "-", "+", 1)
	next := pipe.XRangeN(ctx, key, "("+seen, "+", changesPerRead)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, "", false, fmt.Errorf("deposit registry changes: %w", err)
	}
	f := first.Val()
	if len(f) == 0 {
		return nil, seen, seen != "0-0", nil // deleted since: read everything
	}
	if after, err := idAfter(f[0].ID, seen); err != nil || after {
		return nil, "", true, nil // trimmed past seen
	}
	var out []change
	last = seen
	for msgs := next.Val(); len(msgs) > 0; {
		for _, m := range msgs {
			c, err := decodeChange(m)
			if err != nil {
				return nil, "", false, err
			}
			out = append(out, c)
		}
		last = msgs[len(msgs)-1].ID
		if len(msgs) < changesPerRead {
			break
		}
		var err error
		if msgs, err = r.rdb.XRangeN(ctx, key, "("+last, "+",
			changesPerRead).Result(); err != nil {
			return nil, "", false, fmt.Errorf("deposit registry changes: %w", err)
		}
	}
	return out, last, false, nil
}

// decodeChange reads an entry of the change stream.
func decodeChange(m redis.XMessage) (change, error) {
	str := func(field string) (string, bool) {
		s, ok := m.Values[field].(string)
		return s, ok
	}
	c := change{id: m.ID}
	chain, ok1 := str(fieldChain)
	addr, ok2 := str(fieldAddress)
	if !ok1 || !ok2 || chain == "" || addr == "" {
		return change{}, fmt.Errorf("deposit registry change %s: no chain or address", m.ID)
	}
	raw, ok := m.Values[fieldRegistration]
	if !ok {
		c.Chain, c.Address, c.deleted = chain, addr, true
		return c, nil
	}
	s, _ := raw.(string)
	if err := json.Unmarshal([]byte(s), &c.Registration); err != nil {
		return change{}, fmt.Errorf("deposit registry change %s: %w", m.ID, err)
	}
	if c.Chain != chain || c.Address != addr {
		return change{}, fmt.Errorf("deposit registry change %s: registration of %s %s "+
			"filed under %s %s", m.ID, c.Chain, c.Address, chain, addr)
	}
	return c, nil
}

// readAll reads every registration, and the ID of the last change before them ("0-0":
// none): the changes after it, some of which what it read may hold, are read by the next
// Sync, in order, over it.
func (r *Registry) readAll(ctx context.Context) (map[string]map[string]Registration, string,
	error) {
	last := "0-0"
	msgs, err := r.rdb.XRevRangeN(ctx, r.key("changes"), "+", "-", 1).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, "", fmt.Errorf("deposit registry changes: %w", err)
	}
	if len(msgs) > 0 {
		last = msgs[0].ID
	}
	chains, err := r.rdb.SMembers(ctx, r.key("chains")).Result()
	if err != nil {
		return nil, "", fmt.Errorf("deposit registry: %w", err)
	}
	all := map[string]map[string]Registration{}
	for _, c := range chains {
		vals, err := r.rdb.HGetAll(ctx, r.key("registered:"+c)).Result()
		if err != nil {
			return nil, "", fmt.Errorf("deposit registry of %s: %w", c, err)
		}
		all[c] = make(map[string]Registration, len(vals))
		for addr, raw := range vals {
			var g Registration
			if err := json.Unmarshal([]byte(raw), &g); err != nil {
				return nil, "", fmt.Errorf("deposit registry of %s: %s: %w", c, addr, err)
			}
			all[c][addr] = g
		}
	}
	return all, last, nil
}

// idAfter says whether stream ID a comes after b; an ID of "" (a change made in memory
// only) comes after every other.
func idAfter(a, b string) (bool, error) {
	if a == "" {
		return true, nil
	}
	am, as, err := parseID(a)
	if err != nil {
		return false, err
	}
	bm, bs, err := parseID(b)
	if err != nil {
		return false, err
	}
	return am > bm || am == bm && as > bs, nil
}

// parseID splits a stream ID, "<ms>-<seq>".
func parseID(id string) (ms, seq uint64, err error) {
	a, b, ok := strings.Cut(id, "-")
	if ok {
		if ms, err = strconv.ParseUint(a, 10, 64); err == nil {
			seq, err = strconv.ParseUint(b, 10, 64)
		}
	}
	if !ok || err != nil {
		return 0, 0, fmt.Errorf("stream ID %q: want <ms>-<seq>", id)
	}
	return ms, seq, nil
}
