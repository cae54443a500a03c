package deposit

import (
	"context"
	"testing"
	"time"

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
