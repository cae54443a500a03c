package taint_test

import (
	"context"
	"testing"

	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
)

// TestRedisApplyAfterLostReply: a movement's effect reaches Redis and the reply is lost;
// go-redis sends it again. The second run finds the movement applied and changes nothing:
// its new key is counted once, and undoing it (a reorg) gives back what it overwrote.
func TestRedisApplyAfterLostReply(t *testing.T) {
	ctx := context.Background()
	rdb, proxy, prefix := redistest.CutClient(t)
	s := taint.NewRedis(rdb, prefix)
	counted := func(nt rules.NewTaint) rules.NewTaint { nt.Counter = "poison|src"; return nt }
	// The first apply also loads the script, so that the cut one is run, not refused.
	if err := s.Apply(ctx, "c", "m1", []rules.NewTaint{counted(newTaint("a", "m1", 1))},
		nil); err != nil {
		t.Fatal(err)
	}
	proxy.Arm("mv:cut-m2")
	err := s.Apply(ctx, "c", "cut-m2", []rules.NewTaint{counted(newTaint("a", "m2", 2)),
		counted(newTaint("b", "m2", 2))}, []byte(`["alert2"]`))
	if proxy.Cuts() != 1 {
		t.Fatalf("%d replies cut, want 1", proxy.Cuts())
	}
	if err != nil {
		t.Fatalf("apply whose reply was lost: %v (go-redis retries it)", err)
	}
	count := func() int64 {
		t.Helper()
		got, err := s.Tracked(ctx, "c")
		if err != nil {
			t.Fatal(err)
		}
		return got["poison|src"]
	}
	if n := count(); n != 2 {
		t.Errorf("counted %d keys, want 2 (a, b)", n)
	}
	alerts, err := s.Undo(ctx, "c", "cut-m2")
	if err != nil || string(alerts) != `["alert2"]` {
		t.Fatalf("undo: %q, %v", alerts, err)
	}
	got, err := s.Taints(ctx, "c", "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["a"].By != "m1" || count() != 1 {
		t.Errorf("after undo: %d taints (a by %q), count %d; want a by m1 alone, count 1",
			len(got), got["a"].By, count())
	}
}
