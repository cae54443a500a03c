package watcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/queue"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
)

// progress says which block the poller published last, and how many entries of the queue
// the workers have not finished (queue.Redis and queue.Memory have both).
type progress interface {
	Tip(ctx context.Context, chain string) (queue.Tip, error)
	Backlog(ctx context.Context, chain string) (int64, error)
}

// ScoutOptions configure a Scout.
type ScoutOptions struct {
	Chain        string
	PollInterval time.Duration // default DefaultPollInterval (the poller's)
	Explorers    map[string]string
	// Log, if set, is the alert log that the scout's alerts reach. A scout started
	// (after a restart, or beside a scout that stopped) first reads back from it the
	// provisional alerts of its chain that are neither confirmed nor retracted there, of
	// the last LogLookBack (default DefaultLogLookBack), and settles them as its own: so
	// one whose block a reorg removed while no scout ran is still retracted. Without it,
	// such an alert stays provisional.
	Log         AlertLog
	LogLookBack time.Duration
	Logger      *zap.Logger
}

// Scout raises provisional alerts: early warnings, for the rules that ask for them, on the
// blocks a chain's poller has not published yet (fewer confirmations than the chain asks
// for). Each round it judges those blocks' movements in order with the store's taint as the
// workers left it and, in memory only, what the earlier unconfirmed movements would add; it
// writes nothing to the store. A provisional alert goes to the alert stage (the log, and on
// to the sinks) under the id the confirmed alert will have, so the incident shows it
// confirmed when the workers raise it. A provisional alert whose block a reorg removed
// before it was confirmed is retracted; once its block is published, the workers' confirmed
// alert takes over, and if the workers judge its movement otherwise (the lists changed in
// between) it is retracted once they have.
type Scout struct {
	src    chains.Source
	tips   progress
	store  taint.Store
	lists  Lists
	rules  []rules.Rule // the early-warning rules
	alerts alerting.Stage
	opts   ScoutOptions
	log    *zap.Logger
	raised map[string]alerting.Alert // provisional alerts in force, by DedupKey
	read   bool                      // raised holds those the log had unsettled (Log)
	// awaiting: a provisional alert's block is published, the workers' judgement of it
	// not known yet (the next round asks again, though nothing moved).
	awaiting bool
	blocks   map[uint64]*chains.Block // the unconfirmed blocks, by number (a cache)
	// The chain as the last round that went through saw it: a round that finds the same
	// published tip and the same head has nothing to do.
	lastTip  queue.Tip
	lastHead chains.BlockRef
}

// NewScout returns a scout of one chain; rs are the rules with early warning.
func NewScout(src chains.Source, tips progress, store taint.Store, lists Lists,
	rs []rules.Rule, alerts alerting.Stage, opts ScoutOptions) (*Scout, error) {
	if opts.Chain == "" || len(rs) == 0 {
		return nil, errors.New("scout: a chain and early-warning rules are needed")
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.LogLookBack == 0 {
		opts.LogLookBack = DefaultLogLookBack
	}
	return &Scout{src: src, tips: tips, store: store, lists: lists, rules: rs, alerts: alerts,
		opts: opts, log: opts.Logger.With(zap.String("chain", opts.Chain),
			zap.String("scout", "early warning")),
		raised: map[string]alerting.Alert{}, blocks: map[uint64]*chains.Block{}}, nil
}

// Run scouts until ctx ends; it returns ctx's error. Failures are logged and retried.
func (s *Scout) Run(ctx context.Context) error {
	for {
		if err := s.Round(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("early warning round failed; retrying", zap.Error(err))
		}
		if err := sleep(ctx, s.opts.PollInterval); err != nil {
			return err
		}
	}
}

// Round judges the unconfirmed blocks once: it raises the provisional alerts they show
// and retracts those whose block is no longer the chain's.
func (s *Scout) Round(ctx context.Context) error {
	if !s.read && s.opts.Log != nil {
		left, err := unsettled(ctx, s.opts.Log, s.opts.LogLookBack, logReadBack,
			alerting.StateProvisional,
			func(a *alerting.Alert) bool { return a.Chain == s.opts.Chain })
		if err != nil {
			return err
		}
		for _, a := range left {
			s.raised[a.DedupKey()] = a
		}
		if len(left) > 0 {
			s.log.Info("provisional alerts left unsettled in the alert log, settled here",
				zap.Int("alerts", len(left)))
		}
	}
	s.read = true
	tip, err := s.tips.Tip(ctx, s.opts.Chain)
	if err != nil {
		return err
	}
	head, err := s.src.Head(ctx)
	if err != nil {
		return err
	}
	first := uint64(0)
	if tip.Valid {
		first = tip.Number + 1
	}
	headRef, err := s.src.Ref(ctx, head)
	if err != nil {
		return fmt.Errorf("block %d: %w", head, err)
	}
	if tip == s.lastTip && headRef == s.lastHead && !s.awaiting {
		return nil // nothing moved since the last round
	}
	// The unconfirmed blocks, from the head down, each the parent of the one above: a
	// block is fetched only when it is new or was replaced.
	var blocks []*chains.Block
	canonical := map[uint64]string{} // the unconfirmed blocks' hashes now
	want := headRef.Hash
	for n := head; n >= first && n <= head; n-- {
		b := s.blocks[n]
		if b == nil || b.Ref.Hash != want {
			if b, err = s.src.Block(ctx, n); err != nil {
				return fmt.Errorf("block %d: %w", n, err)
			}
			s.blocks[n] = b
		}
		canonical[n], want = b.Ref.Hash, b.Ref.ParentHash
		blocks = append(blocks, b)
	}
	var ms []chains.Movement
	for i := len(blocks) - 1; i >= 0; i-- {
		ms = append(ms, blocks[i].Movements...)
	}
	for n := range s.blocks {
		if n < first || n > head {
			delete(s.blocks, n)
		}
	}
	var out []alerting.Alert
	found, err := s.judge(ctx, ms)
	if err != nil {
		return err
	}
	for k, a := range found {
		if _, ok := s.raised[k]; !ok {
			out = append(out, a)
		}
	}
	var gone []string
	s.awaiting = false
	idle := s.idle(ctx)
	for k, a := range s.raised {
		switch h, unconfirmed := canonical[a.Block]; {
		case unconfirmed && h == a.BlockHash:
			// still on the chain, still unconfirmed
		case !unconfirmed && a.Block < first && s.published(ctx, a):
			// Published unchanged: the workers' confirmed alert takes over, once they
			// have raised it; if they judged its movement otherwise (the lists changed in
			// between), it is retracted.
			judged, raised, err := s.confirmed(ctx, &a, idle)
			switch {
			case err != nil:
				return err
			case raised:
				gone = append(gone, k)
			case judged:
				r := a
				r.State = alerting.StateRetracted
				r.Note = "not confirmed: the workers judged its movement otherwise once " +
					"its block was published"
				out, gone = append(out, r), append(gone, k)
			default:
				s.awaiting = true
			}
		case a.Block > head:
			// Above the node's head (read back from the log, raised by a scout whose node
			// was ahead): nothing is known of its block yet.
		default: // its block left the chain before it was confirmed
			r := a
			r.State = alerting.StateRetracted
			out, gone = append(out, r), append(gone, k)
		}
	}
	if len(out) > 0 {
		if _, err := s.alerts.Exec(ctx, out...); err != nil {
			return err
		}
	}
	s.lastTip, s.lastHead = tip, headRef
	for _, a := range out {
		if a.State == alerting.StateProvisional {
			s.raised[a.DedupKey()] = a
		}
	}
	for _, k := range gone {
		delete(s.raised, k)
	}
	return nil
}

// idle returns what says, once asked (then the same), whether the workers have finished
// every entry of the queue: all that was published when the round read the tip judged.
func (s *Scout) idle(ctx context.Context) func() (bool, error) {
	var done, asked bool
	return func() (bool, error) {
		if asked {
			return done, nil
		}
		n, err := s.tips.Backlog(ctx, s.opts.Chain)
		if err != nil {
			return false, err
		}
		done, asked = n == 0, true
		return done, nil
	}
}

// confirmed says of a, a provisional alert whose block was published unchanged, whether
// the workers raised it (raised: its movement's record holds it), and whether they have
// judged its movement at all (judged: raised, or idle says they had finished every entry
// before the record was read). Judged but not raised: they judged it otherwise.
func (s *Scout) confirmed(ctx context.Context, a *alerting.Alert,
	idle func() (bool, error)) (judged, raised bool, err error) {
	done, err := idle() // first: a record read after the workers finished is final
	if err != nil {
		return false, false, err
	}
	key := movementKey(a)
	rec, err := s.store.Recorded(ctx, s.opts.Chain, key)
	if err != nil {
		return false, false, err
	}
	if enc := rec[key]; len(enc) > 0 {
		var as []alerting.Alert
		if err := json.Unmarshal(enc, &as); err != nil {
			return false, false, fmt.Errorf("recorded alerts of %s: %w", key, err)
		}
		for i := range as {
			if as[i].ID == a.ID {
				return true, true, nil
			}
		}
	}
	return done, false, nil
}

// movementKey is the key (chains.Movement.Key) of the movement that raised a: a Bitcoin
// alert names the output that arrived, of the movement that is the whole transaction.
func movementKey(a *alerting.Alert) string {
	pos := a.Position
	if strings.HasPrefix(pos, "vout:") {
		pos = chains.PositionTx
	}
	m := chains.Movement{Chain: a.Chain, Tx: a.Tx, Position: pos}
	return m.Key()
}

// published says whether the alert's block is the chain's at its height (so the poller
// published it as it was).
func (s *Scout) published(ctx context.Context, a alerting.Alert) bool {
	ref, err := s.src.Ref(ctx, a.Block)
	return err == nil && ref.Hash == a.BlockHash
}

// judge evaluates ms in order with the early-warning rules over the store's taint and what
// the earlier of ms would add, and returns the provisional alerts, by DedupKey.
func (s *Scout) judge(ctx context.Context, ms []chains.Movement) (map[string]alerting.Alert,
	error) {
	found := map[string]alerting.Alert{}
	if len(ms) == 0 {
		return found, nil
	}
	var bases []string
	for i := range ms {
		bases = rules.AppendBases(bases, s.rules, &ms[i])
	}
	var keys []string
	for _, p := range append(rules.Prefixes(s.rules), deposit.Key("")) {
		for _, b := range bases {
			keys = append(keys, p+b)
		}
	}
	stored, err := s.store.Taints(ctx, s.opts.Chain, keys...)
	if err != nil {
		return nil, err
	}
	counters, err := s.store.Tracked(ctx, s.opts.Chain)
	if err != nil {
		return nil, err
	}
	v := &overlayView{lists: s.lists, chain: s.opts.Chain, stored: stored,
		added: map[string]rules.Taint{}, counters: counters}
	for i := range ms {
		m := &ms[i]
		v.at = m.Block.Time
		d := rules.Evaluate(s.rules, m, v)
		for _, nt := range d.Taints {
			if _, had := v.Taint(rules.SplitKey(nt.Address)); !had && nt.Counter != "" {
				v.counters[nt.Counter]++
			}
			v.added[nt.Address] = nt.Taint
		}
		for j := range d.Findings {
			a := alertOf(&d.Findings[j], alerting.StateProvisional, s.opts.Explorers)
			found[a.DedupKey()] = a
		}
	}
	return found, nil
}

// overlayView is what the scout's rules see: the lists at the movement's time, the store's
// taint, and over it what the unconfirmed movements judged so far would write.
type overlayView struct {
	lists    Lists
	chain    string
	at       time.Time
	stored   map[string]rules.Taint
	added    map[string]rules.Taint
	counters map[string]int64
}

var _ rules.View = (*overlayView)(nil)

func (v *overlayView) Source(a string) (rules.Source, bool) {
	return v.lists.SourceAt(v.chain, a, v.at)
}

// Label is the address's label in the lists or, failing that, inferred (as stored).
func (v *overlayView) Label(a string) (rules.Label, bool) {
	if l, ok := v.lists.LabelAt(v.chain, a, v.at); ok {
		return l, true
	}
	if t, ok := v.Taint(deposit.Key(""), a); ok {
		return deposit.Label(t), true
	}
	return rules.Label{}, false
}

func (v *overlayView) Taint(prefix, base string) (rules.Taint, bool) {
	if t, ok := v.added[prefix+base]; ok {
		return t, true
	}
	t, ok := v.stored[prefix+base]
	return t, ok
}

func (v *overlayView) Tracked(c string) int64 { return v.counters[c] }
