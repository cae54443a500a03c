package journaltest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/sinktest"
)

// Run runs the suite; newJournal returns a fresh, empty journal for each subtest.
func Run(t *testing.T, newJournal func(t *testing.T) alerting.Journal) {
	ctx := context.Background()
	t.Run("appends in order, chained from the genesis hash", func(t *testing.T) {
		j := newJournal(t)
		as := sinktest.Alerts(3)
		es, err := j.Append(ctx, as...)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 3 {
			t.Fatalf("appended %d entries, want 3", len(es))
		}
		prev := alerting.GenesisHash
		for i, e := range es {
			if e.Seq != uint64(i+1) || e.Prev != prev || e.Alert.ID != as[i].ID ||
				e.Hash != alerting.EntryHash(e.Prev, e.Seq, e.Time, e.Body) {
				t.Fatalf("entry %d: %+v", i, e)
			}
			prev = e.Hash
		}
		got := entries(t, j, 0, 10)
		if len(got) != 3 || got[2].Hash != es[2].Hash || got[1].Alert.Amount != as[1].Amount ||
			!got[0].Time.Equal(es[0].Time) {
			t.Fatalf("read back %+v", got)
		}
		if seq, hash, err := j.Head(ctx); err != nil || seq != 3 || hash != es[2].Hash {
			t.Fatalf("head %d %s, %v", seq, hash, err)
		}
		verifyOK(t, j, 3)
	})
	t.Run("a notification is appended once", func(t *testing.T) {
		j := newJournal(t)
		as := sinktest.Alerts(2)
		if _, err := j.Append(ctx, as[0], as[0]); err != nil {
			t.Fatal(err)
		}
		es, err := j.Append(ctx, as...)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 1 || es[0].Alert.ID != as[1].ID || es[0].Seq != 2 {
			t.Fatalf("second append: %+v", es)
		}
		retracted := as[0]
		retracted.State = alerting.StateRetracted
		if es, err = j.Append(ctx, retracted, retracted); err != nil || len(es) != 1 {
			t.Fatalf("a new state is a notification of its own: %+v, %v", es, err)
		}
		verifyOK(t, j, 3)
	})
	t.Run("entries are read a page at a time", func(t *testing.T) {
		j := newJournal(t)
		if seq, hash, err := j.Head(ctx); err != nil || seq != 0 || hash != alerting.GenesisHash {
			t.Fatalf("empty head %d %s, %v", seq, hash, err)
		}
		if _, err := j.Append(ctx, sinktest.Alerts(5)...); err != nil {
			t.Fatal(err)
		}
		if got := entries(t, j, 2, 2); len(got) != 2 || got[0].Seq != 3 || got[1].Seq != 4 {
			t.Fatalf("after 2, 2 of them: %+v", got)
		}
		if got := entries(t, j, 5, 10); len(got) != 0 {
			t.Fatalf("after the last: %+v", got)
		}
	})
	t.Run("concurrent appends make one chain", func(t *testing.T) {
		j := newJournal(t)
		all := sinktest.Alerts(40)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := g; i < len(all); i += 8 {
					// Each alert twice, from two goroutines: once in the log all the same.
					if _, err := j.Append(ctx, all[i], all[(i+1)%len(all)]); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		verifyOK(t, j, uint64(len(all)))
		seen := map[string]bool{}
		for _, e := range entries(t, j, 0, 100) {
			if seen[e.Alert.ID] {
				t.Fatalf("alert %s twice", e.Alert.ID)
			}
			seen[e.Alert.ID] = true
		}
	})
	t.Run("a cancelled context appends nothing", func(t *testing.T) {
		j := newJournal(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := j.Append(cctx, sinktest.Alerts(1)...); err == nil {
			t.Fatal("want an error")
		}
		if got := entries(t, j, 0, 10); len(got) != 0 {
			t.Fatalf("appended %d", len(got))
		}
	})
}

func entries(t *testing.T, j alerting.Journal, after uint64, n int) []alerting.Entry {
	t.Helper()
	es, err := j.Entries(context.Background(), after, n)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func verifyOK(t *testing.T, j alerting.Journal, n uint64) {
	t.Helper()
	r, err := alerting.Verify(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Entries != n || r.Head != n || r.First != 1 {
		t.Fatalf("verify: %+v, want %d entries and no problem", r, n)
	}
}

// Stamp is a clock for journals under test: each reading a second after the last.
func Stamp() func() time.Time {
	var mu sync.Mutex
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		at = at.Add(time.Second)
		return at
	}
}
