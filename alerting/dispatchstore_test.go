package alerting

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/internal/redistest"
)

// deadLettered is a DispatchStore that keeps dead letters.
type deadLettered interface {
	DispatchStore
	Leaser
	Dead(ctx context.Context, sink string) ([]DeadLetter, error)
}

func TestMemoryDispatch(t *testing.T) {
	runDispatchStoreSuite(t, false, func(t *testing.T) deadLettered {
		return &MemoryDispatch{}
	})
}

func TestRedisDispatch(t *testing.T) {
	runDispatchStoreSuite(t, true, func(t *testing.T) deadLettered {
		rdb, prefix := redistest.New(t)
		return NewRedisDispatch(rdb, prefix)
	})
}

// runDispatchStoreSuite is the conformance suite of DispatchStore; fenced says the store's
// lease is exclusive (not the in-process one's).
func runDispatchStoreSuite(t *testing.T, fenced bool, newStore func(t *testing.T) deadLettered) {
	ctx := context.Background()
	g := newTestGrouper(t, GroupOptions{ZeroWait: true})
	g.Add(t0, flowAlert(1, "Binance", 10))
	g.Add(t0, flowAlert(2, "Kraken", 20))
	ns := g.Due(t0)
	changed := g.TakeChanged()
	q := func(i int) Queued { return Queued{ID: ns[i][0].NotificationKey(), Alerts: ns[i]} }

	t.Run("saves and loads the position and incidents", func(t *testing.T) {
		s := newStore(t)
		if c, ins, err := s.Load(ctx); err != nil || c != 0 || len(ins) != 0 {
			t.Fatalf("empty store: %d, %d, %v", c, len(ins), err)
		}
		lead(t, s, "a")
		if err := s.Save(ctx, Changes{Holder: "a", Cursor: 7, Incidents: changed}); err != nil {
			t.Fatal(err)
		}
		c, ins, err := s.Load(ctx)
		if err != nil || c != 7 || len(ins) != 2 {
			t.Fatalf("loaded %d, %d incidents, %v", c, len(ins), err)
		}
		g2 := newTestGrouper(t, GroupOptions{ZeroWait: true})
		if err := g2.restore(ins); err != nil {
			t.Fatal(err)
		}
		g2.Add(t0.Add(time.Minute), flowAlert(3, "Binance", 5))
		if got := summary(g2.Due(t0.Add(10 * time.Minute))); got !=
			"updated#2 n=1 active=2 total=15 high" {
			t.Fatalf("restored incident goes on: %s", got)
		}
		var gone []string
		for k := range changed {
			gone = append(gone, k)
			break
		}
		if err := s.Save(ctx, Changes{Holder: "a", Cursor: 8, Gone: gone}); err != nil {
			t.Fatal(err)
		}
		if _, ins, _ := s.Load(ctx); len(ins) != 1 {
			t.Fatalf("after one gone: %d incidents", len(ins))
		}
	})
	t.Run("queues per sink, in order; done takes the head by id", func(t *testing.T) {
		s := newStore(t)
		lead(t, s, "a")
		err := s.Save(ctx, Changes{Holder: "a", Queued: map[string][]Queued{
			"hook": {q(0), q(1)}, "file": {q(1)}}})
		if err != nil {
			t.Fatal(err)
		}
		head := func(sink string) string {
			h, ok, err := s.Head(ctx, sink)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				return ""
			}
			if len(h.Alerts) != 1 || h.Alerts[0].Incident == nil {
				t.Fatalf("head %+v lost its alerts", h)
			}
			return h.ID
		}
		if head("hook") != q(0).ID || head("file") != q(1).ID || head("none") != "" {
			t.Fatal("heads")
		}
		if err := s.Done(ctx, "hook", q(1).ID, ""); err != nil || head("hook") != q(0).ID {
			t.Fatalf("done with another id took the head: %v", err)
		}
		if err := s.Done(ctx, "hook", q(0).ID, ""); err != nil || head("hook") != q(1).ID {
			t.Fatalf("done: %v", err)
		}
		if err := s.Done(ctx, "hook", q(1).ID, "400 Bad Request"); err != nil ||
			head("hook") != "" {
			t.Fatalf("given up: %v", err)
		}
		dead, err := s.Dead(ctx, "hook")
		if err != nil || len(dead) != 1 || dead[0].ID != q(1).ID ||
			dead[0].Failure != "400 Bad Request" {
			t.Fatalf("dead letters %+v, %v", dead, err)
		}
	})
	if !fenced {
		return
	}
	t.Run("one holder leads; the others' saves are refused", func(t *testing.T) {
		s := newStore(t)
		lead(t, s, "a")
		if ok, err := s.Lead(ctx, "b", time.Minute); err != nil || ok {
			t.Fatalf("b took a held lease: %v, %v", ok, err)
		}
		err := s.Save(ctx, Changes{Holder: "b", Cursor: 9})
		if !errors.Is(err, ErrNotLeader) {
			t.Fatalf("b saved: %v", err)
		}
		if c, _, _ := s.Load(ctx); c != 0 {
			t.Fatalf("a refused save moved the cursor to %d", c)
		}
	})
	t.Run("a released lease passes on at once", func(t *testing.T) {
		s := newStore(t)
		lead(t, s, "a")
		if err := s.Release(ctx, "b"); err != nil { // not b's to give up
			t.Fatal(err)
		}
		if ok, err := s.Lead(ctx, "b", time.Minute); err != nil || ok {
			t.Fatalf("b took the lease after releasing a's: %v, %v", ok, err)
		}
		if err := s.Release(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Lead(ctx, "b", time.Minute); err != nil || !ok {
			t.Fatalf("b did not take the released lease: %v, %v", ok, err)
		}
		if err := s.Save(ctx, Changes{Holder: "a"}); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("the old holder saved: %v", err)
		}
	})
	t.Run("an expired lease passes on", func(t *testing.T) {
		s := newStore(t)
		if ok, err := s.Lead(ctx, "a", 50*time.Millisecond); err != nil || !ok {
			t.Fatal(ok, err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			ok, err := s.Lead(ctx, "b", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the lease never passed on")
			}
			time.Sleep(10 * time.Millisecond) // polling a TTL that Redis keeps
		}
		if err := s.Save(ctx, Changes{Holder: "a"}); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("the old holder saved: %v", err)
		}
	})
}

func lead(t *testing.T, s Leaser, holder string) {
	t.Helper()
	if ok, err := s.Lead(context.Background(), holder, time.Minute); err != nil || !ok {
		t.Fatalf("lead %s: %v, %v", holder, ok, err)
	}
}
