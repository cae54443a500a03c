package taint_test

import (
	"context"
	"errors"
	"math/big"
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

// TestStore: first taint wins, apply is idempotent, undo removes only what its movement
// created and returns its alerts until they are forgotten.
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
			must(s.Apply(ctx, "c", "m1", []rules.NewTaint{newTaint("a", "m1", 1)},
				[]byte(`["alert1"]`)))
			must(s.Apply(ctx, "c", "m1", []rules.NewTaint{newTaint("a", "m1", 1)},
				[]byte(`["again"]`))) // redelivery
			must(s.Apply(ctx, "c", "m2", []rules.NewTaint{newTaint("a", "m2", 2),
				newTaint("b", "m2", 2)}, nil)) // a keeps m1's taint
			got, err := s.Taints(ctx, "c", "a", "b", "zzz")
			must(err)
			if len(got) != 2 || got["a"].By != "m1" || got["b"].By != "m2" ||
				len(got["b"].Path) != 2 || got["b"].Path[1].Amount.Int64() != 2 {
				t.Fatalf("taints %+v", got)
			}
			if other, _ := s.Taints(ctx, "otherchain", "a"); len(other) != 0 {
				t.Fatal("taint leaked across chains")
			}
			alerts, err := s.Undo(ctx, "c", "m1")
			must(err)
			if string(alerts) != `["alert1"]` {
				t.Fatalf("undo returned %q", alerts)
			}
			got, _ = s.Taints(ctx, "c", "a", "b")
			if _, ok := got["a"]; ok || got["b"].By != "m2" {
				t.Fatalf("after undoing m1: %+v", got)
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
			// Several movements at once, in order: the first taint of c wins.
			must(s.ApplyAll(ctx, "c", taint.Fence{}, []taint.Effect{
				{Key: "m3", Taints: []rules.NewTaint{newTaint("c", "m3", 1)}},
				{Key: "m4", Taints: []rules.NewTaint{newTaint("c", "m4", 2),
					newTaint("d", "m4", 2)}, Alerts: []byte(`["a4"]`)},
			}))
			got, _ = s.Taints(ctx, "c", "c", "d")
			if got["c"].By != "m3" || got["d"].By != "m4" {
				t.Fatalf("after ApplyAll: %+v", got)
			}
			if a, _ := s.Undo(ctx, "c", "m4"); string(a) != `["a4"]` {
				t.Fatalf("alerts of m4: %q", a)
			}
		})
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
