package deposit

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowwatch/flowwatch/internal/redistest"
)

// TestRegistry: what one process registers it sees at once, another after its next sync;
// each change moves the version; deleting reports whether the address was registered.
func TestRegistry(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	a, b := NewRegistry(rdb, prefix), NewRegistry(rdb, prefix)
	at := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	reg := Registration{Chain: "ethereum", Address: "0xd1", Customer: "c-4711", At: at}
	v0 := a.Version()
	if err := a.Put(ctx, reg, Registration{Chain: "bitcoin", Address: "bc1q", Customer: "c-9",
		At: at}); err != nil {
		t.Fatal(err)
	}
	if g, ok := a.Get("ethereum", "0xd1"); !ok || g.Customer != "c-4711" || a.Version() == v0 {
		t.Fatalf("a: %+v %v, version %d", g, ok, a.Version())
	}
	if _, ok := b.Get("ethereum", "0xd1"); ok {
		t.Fatal("b saw it before syncing")
	}
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if g, ok := b.Get("ethereum", "0xd1"); !ok || !g.At.Equal(at) || b.Len() != 2 {
		t.Fatalf("b after sync: %+v %v, %d registered", g, ok, b.Len())
	}
	vb := b.Version()
	if err := b.Sync(ctx); err != nil || b.Version() != vb {
		t.Fatalf("a sync with nothing new changed the version: %v", err)
	}
	if was, err := a.Delete(ctx, "ethereum", "0xd1"); err != nil || !was {
		t.Fatalf("delete: %v %v", was, err)
	}
	if was, err := a.Delete(ctx, "ethereum", "0xd1"); err != nil || was {
		t.Fatalf("delete again: %v %v", was, err)
	}
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Get("ethereum", "0xd1"); ok || b.Len() != 1 {
		t.Fatal("b still has the deleted address")
	}
	if l := reg.Label(); l.Category != "exchange_deposit" || l.List != ListRegistered {
		t.Fatalf("label %+v", l)
	}
}

func TestRegistryInMemory(t *testing.T) {
	ctx := context.Background()
	r := NewRegistry(nil, "")
	if err := r.Put(ctx, Registration{Chain: "ethereum", Address: "0xd1"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Get("ethereum", "0xd1"); !ok || r.Sync(ctx) != nil {
		t.Fatal("memory registry")
	}
}

// putDuringRead is a Redis hook that, once, runs put just after a command named after
// answered: a change this process makes while its Registry's Sync is reading what Redis
// holds.
type putDuringRead struct {
	after string
	put   func()
	done  bool
}

func (h *putDuringRead) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *putDuringRead) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if cmd.Name() == h.after && !h.done {
			h.done = true
			h.put()
		}
		return err
	}
}

func (h *putDuringRead) ProcessPipelineHook(
	next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestRegistrySyncKeepsWhatItPut: a registration (or a deletion) made while a Sync reads
// Redis shows at once and stays, although what the Sync read was read before it. (The
// Sync installed its older read over it: the address went unregistered until the next
// sync, seconds later, and a deposit judged then raised no alert.)
func TestRegistrySyncKeepsWhatItPut(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		change func(r *Registry) error
		after  string // the read it follows: of the chains, or of the chain's addresses
		want   bool   // registered after it
	}{
		{"put", func(r *Registry) error {
			return r.Put(ctx, Registration{Chain: "ethereum", Address: "0xd2"})
		}, "smembers", true},
		{"delete", func(r *Registry) error {
			_, err := r.Delete(ctx, "ethereum", "0xd2")
			return err
		}, "hgetall", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdb, prefix := redistest.New(t)
			r := NewRegistry(rdb, prefix)
			if !tc.want { // registered before, by another process
				other := NewRegistry(rdb, prefix)
				if err := other.Put(ctx, Registration{Chain: "ethereum",
					Address: "0xd2"}); err != nil {
					t.Fatal(err)
				}
			}
			hook := &putDuringRead{after: tc.after, put: func() {
				if err := tc.change(r); err != nil {
					t.Error(err)
				}
			}}
			rdb.AddHook(hook)
			if err := r.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if !hook.done {
				t.Fatal("the change was never made during a sync: the test tested nothing")
			}
			if _, ok := r.Get("ethereum", "0xd2"); ok != tc.want {
				t.Fatalf("registered %v after the sync, want %v", ok, tc.want)
			}
			if err := r.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if _, ok := r.Get("ethereum", "0xd2"); ok != tc.want {
				t.Fatalf("registered %v after the next sync, want %v", ok, tc.want)
			}
		})
	}
}
