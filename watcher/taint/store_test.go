package taint_test

import (
	"context"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
)

func stores(t *testing.T) map[string]taint.Store {
	rdb, prefix := redistest.New(t)
	return map[string]taint.Store{"memory": taint.NewMemory(),
		"redis": taint.NewRedis(rdb, prefix)}
}

func newTaint(addr, by string, hops int) rules.NewTaint {
	path := make([]rules.Hop, hops)
	for i := range path {
		path[i] = rules.Hop{Tx: by, To: addr, Amount: big.NewInt(int64(i + 1))}
	}
	return rules.NewTaint{Address: addr, Taint: rules.Taint{Root: "src",
		Source: rules.Source{Entity: "Lazarus Group", Category: "sanctioned"}, Path: path, By: by}}
}

// TestStore: a write replaces what a key held and counts a new key; applying is once per
// movement; undoing, newest first, restores what each movement overwrote, takes back its
// counts and returns its alerts until they are forgotten; Recorded tells what is applied.
func TestStore(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			counted := func(nt rules.NewTaint) rules.NewTaint { nt.Counter = "poison|src"; return nt }
			by := func(keys ...string) string {
				t.Helper()
				got, err := s.Taints(ctx, "c", keys...)
				must(err)
				var out []string
				for _, k := range keys {
					if tt, ok := got[k]; ok {
						out = append(out, k+"="+tt.By)
					}
				}
				return strings.Join(out, " ")
			}
			count := func() int64 {
				t.Helper()
				got, err := s.Tracked(ctx, "c")
				must(err)
				return got["poison|src"]
			}
			must(s.Apply(ctx, "c", "m1", []rules.NewTaint{counted(newTaint("a", "m1", 1))},
				[]byte(`["alert1"]`)))
			must(s.Apply(ctx, "c", "m1", []rules.NewTaint{counted(newTaint("a", "mX", 1))},
				[]byte(`["again"]`))) // redelivery: applied already
			must(s.Apply(ctx, "c", "m2", []rules.NewTaint{counted(newTaint("a", "m2", 2)),
				counted(newTaint("b", "m2", 2))}, nil)) // a is replaced, b is new
			if got := by("a", "b", "zzz"); got != "a=m2 b=m2" || count() != 2 {
				t.Fatalf("taints %q, count %d", got, count())
			}
			if other, _ := s.Taints(ctx, "otherchain", "a"); len(other) != 0 {
				t.Fatal("taint leaked across chains")
			}
			rec, err := s.Recorded(ctx, "c", "m1", "m2", "m9")
			must(err)
			if len(rec) != 2 || string(rec["m1"]) != `["alert1"]` || len(rec["m2"]) != 0 {
				t.Fatalf("recorded %q", rec)
			}
			// Undo newest first: m2 gives a back its m1 taint and drops b.
			alerts, err := s.Undo(ctx, "c", "m2")
			must(err)
			if alerts != nil || by("a", "b") != "a=m1" || count() != 1 {
				t.Fatalf("after undoing m2: alerts %q, taints %q, count %d", alerts,
					by("a", "b"), count())
			}
			if again, _ := s.Undo(ctx, "c", "m2"); again != nil || by("a") != "a=m1" {
				t.Fatal("a second undo of m2 changed something")
			}
			alerts, err = s.Undo(ctx, "c", "m1")
			must(err)
			if string(alerts) != `["alert1"]` || by("a") != "" || count() != 0 {
				t.Fatalf("after undoing m1: alerts %q, taints %q, count %d", alerts,
					by("a"), count())
			}
			if rec, _ := s.Recorded(ctx, "c", "m1", "m2"); len(rec) != 0 {
				t.Fatalf("undone movements recorded as applied: %q", rec)
			}
			// Until forgotten, a repeated undo (a redelivered removal) returns the alerts
			// again, so that their retraction is not lost.
			if again, _ := s.Undo(ctx, "c", "m1"); string(again) != `["alert1"]` {
				t.Fatalf("second undo returned %q", again)
			}
			must(s.Forget(ctx, "c", "m1"))
			if again, _ := s.Undo(ctx, "c", "m1"); again != nil {
				t.Fatalf("undo after forget returned %q", again)
			}
			// An undone movement mined again applies again.
			must(s.Apply(ctx, "c", "m1", []rules.NewTaint{counted(newTaint("a", "m1", 1))}, nil))
			if by("a") != "a=m1" || count() != 1 {
				t.Fatalf("re-applied: %q, count %d", by("a"), count())
			}
			// Several movements at once, in order: the later write of c wins.
			must(s.ApplyAll(ctx, "c", taint.Fence{}, []taint.Effect{
				{Key: "m3", Taints: []rules.NewTaint{newTaint("c", "m3", 1)}},
				{Key: "m4", Taints: []rules.NewTaint{newTaint("c", "m4", 2),
					newTaint("d", "m4", 2)}, Alerts: []byte(`["a4"]`)},
			}))
			if got := by("c", "d"); got != "c=m4 d=m4" {
				t.Fatalf("after ApplyAll: %q", got)
			}
			if a, _ := s.Undo(ctx, "c", "m4"); string(a) != `["a4"]` || by("c", "d") != "c=m3" {
				t.Fatalf("alerts of m4: %q; taints %q", a, by("c", "d"))
			}
			// Keys lists what holds a taint now, on this chain only.
			keys := func(chain string) []string {
				t.Helper()
				var out []string
				must(s.Keys(ctx, chain, func(k string) { out = append(out, k) }))
				slices.Sort(out)
				return out
			}
			if got, other := keys("c"), keys("otherchain"); !slices.Equal(got,
				[]string{"a", "c"}) || len(other) != 0 {
				t.Fatalf("keys %q, of another chain %q", got, other)
			}
		})
	}
}

// TestRedisLegacyRecords: what an earlier version recorded of a movement (a set of the
// addresses it tainted, its alerts under their own key) is still undone.
func TestRedisLegacyRecords(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	s := taint.NewRedis(rdb, prefix)
	k := func(what string) string { return prefix + ":{c}:" + what }
	rdb.HSet(ctx, k("taint"), "a", `{"root":"r","path":[],"by":"m0"}`)
	rdb.SAdd(ctx, k("taintby:m0"), "a")
	rdb.Set(ctx, k("alerted:m0"), `["old"]`, 0)
	if got, _ := s.Taints(ctx, "c", "a"); got["a"].By != "m0" {
		t.Fatalf("legacy taint: %+v", got)
	}
	alerts, err := s.Undo(ctx, "c", "m0")
	if err != nil || string(alerts) != `["old"]` {
		t.Fatalf("undo: %q, %v", alerts, err)
	}
	if got, _ := s.Taints(ctx, "c", "a"); len(got) != 0 {
		t.Fatal("legacy taint not undone")
	}
	if err := s.Forget(ctx, "c", "m0"); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Exists(ctx, k("alerted:m0")).Result(); n != 0 {
		t.Fatal("legacy alerts not forgotten")
	}
}

// TestRedisRecordsExpire: a movement's record has a time to live, so that records of
// movements past any reorg do not pile up.
func TestRedisRecordsExpire(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	s := taint.NewRedis(rdb, prefix)
	if err := s.Apply(ctx, "c", "m1", []rules.NewTaint{newTaint("a", "m1", 1)}, nil); err != nil {
		t.Fatal(err)
	}
	ttl, err := rdb.PTTL(ctx, prefix+":{c}:mv:m1").Result()
	if err != nil || ttl <= 0 || ttl > taint.DefaultUndoTTL {
		t.Fatalf("record ttl %v, %v", ttl, err)
	}
}

// TestRedisScriptCacheLost: after a Redis restart (here: SCRIPT FLUSH) the store loads its
// script again instead of failing every batch with NOSCRIPT.
func TestRedisScriptCacheLost(t *testing.T) {
	rdb, prefix := redistest.New(t)
	s := taint.NewRedis(rdb, prefix)
	ctx := context.Background()
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyAll(ctx, "c", taint.Fence{}, []taint.Effect{{Key: "m1",
		Taints: []rules.NewTaint{newTaint("a", "m1", 1)}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Taints(ctx, "c", "a"); got["a"].By != "m1" {
		t.Fatalf("taints after reload: %+v", got)
	}
}

// TestRedisFence: a fenced write goes through only while the fence key holds the holder;
// otherwise nothing of the batch is written and the error is ErrFenced.
func TestRedisFence(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	s := taint.NewRedis(rdb, prefix)
	owner := prefix + ":{c}:owner"
	effects := func(addr string) []taint.Effect {
		return []taint.Effect{{Key: "m-" + addr, Taints: []rules.NewTaint{newTaint(addr, "m", 1)},
			Alerts: []byte(`[{"id":"x"}]`)}}
	}
	tests := []struct {
		name    string
		holds   string // the owner key's value; "" absent
		fence   taint.Fence
		addr    string
		wantErr bool
	}{
		{"no fence", "", taint.Fence{}, "a", false},
		{"the holder writes", "w1", taint.Fence{Key: owner, Holder: "w1"}, "b", false},
		{"another owns the chain", "w2", taint.Fence{Key: owner, Holder: "w1"}, "c", true},
		{"the lease ran out", "", taint.Fence{Key: owner, Holder: "w1"}, "d", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb.Del(ctx, owner)
			if tt.holds != "" {
				rdb.Set(ctx, owner, tt.holds, 0)
			}
			err := s.ApplyAll(ctx, "c", tt.fence, effects(tt.addr))
			if tt.wantErr != errors.Is(err, taint.ErrFenced) || (!tt.wantErr && err != nil) {
				t.Fatalf("err %v, want fenced %v", err, tt.wantErr)
			}
			got, err := s.Taints(ctx, "c", tt.addr)
			if err != nil || (len(got) == 1) == tt.wantErr {
				t.Fatalf("taint of %s written: %v (%v); want %v", tt.addr, len(got) == 1, err,
					!tt.wantErr)
			}
			if alerts, _ := s.Undo(ctx, "c", "m-"+tt.addr); (alerts != nil) == tt.wantErr {
				t.Fatalf("alerts recorded: %v; want %v", alerts != nil, !tt.wantErr)
			}
		})
	}
}
