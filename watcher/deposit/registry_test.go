package deposit

import (
	"context"
	"slices"
	"sync"
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
// answered (alone or in a pipeline), or, with before, just before it is sent: a change
// this process makes while its Registry's Sync is reading what Redis holds.
type putDuringRead struct {
	after  string
	before bool
	put    func()
	done   bool
}

func (h *putDuringRead) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *putDuringRead) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.maybe(true, cmd)
		err := next(ctx, cmd)
		h.maybe(false, cmd)
		return err
	}
}

func (h *putDuringRead) ProcessPipelineHook(
	next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			h.maybe(true, cmd)
		}
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			h.maybe(false, cmd)
		}
		return err
	}
}

// maybe runs put, once, if cmd is the command it follows (or, before, precedes).
func (h *putDuringRead) maybe(before bool, cmd redis.Cmder) {
	if cmd.Name() == h.after && before == h.before && !h.done {
		h.done = true
		h.put()
	}
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

// countCommands is a Redis hook that counts the commands sent, by name.
type countCommands struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *countCommands) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countCommands) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.count(cmd)
		return next(ctx, cmd)
	}
}

func (h *countCommands) ProcessPipelineHook(
	next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			h.count(c)
		}
		return next(ctx, cmds)
	}
}

func (h *countCommands) count(cmd redis.Cmder) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n[cmd.Name()]++
}

// take returns the counts and starts again.
func (h *countCommands) take() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.n
	h.n = map[string]int{}
	return n
}

// TestRegistrySyncReadsChanges: after its first Sync, a Registry reads only the changes
// made since, in the order they were made, and every registration again only when the
// stream no longer holds those changes (trimmed past the last it read, or deleted).
// (Every Sync after any change read every registration: a second at 200,000 of them.)
func TestRegistrySyncReadsChanges(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	a := NewRegistry(rdb, prefix)
	reg := func(addr string) Registration {
		return Registration{Chain: "ethereum", Address: addr, Customer: "c-" + addr}
	}
	if err := a.Put(ctx, reg("0xd1"), reg("0xd2")); err != nil {
		t.Fatal(err)
	}
	client := redistest.Client(t)
	hook := &countCommands{n: map[string]int{}}
	client.AddHook(hook)
	b := NewRegistry(client, prefix)
	sync := func(want ...string) map[string]int {
		t.Helper()
		hook.take()
		if err := b.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		var got []string
		b.Each("ethereum", func(addr string) { got = append(got, addr) })
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("registered after the sync: %v, want %v", got, want)
		}
		return hook.take()
	}
	if n := sync("0xd1", "0xd2"); n["hgetall"] != 1 {
		t.Fatalf("first sync: %v, want every registration read", n)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.Put(ctx, reg("0xd3")))
	_, err := a.Delete(ctx, "ethereum", "0xd1")
	must(err)
	must(a.Put(ctx, reg("0xd4")))
	_, err = a.Delete(ctx, "ethereum", "0xd4") // made and unmade: in order, it is gone
	must(err)
	must(a.Put(ctx, reg("0xd2"))) // again
	v := b.Version()
	if n := sync("0xd2", "0xd3"); n["hgetall"] != 0 || n["smembers"] != 0 || b.Version() == v {
		t.Fatalf("sync after changes: %v (version %d, was %d), want the changes read only",
			n, b.Version(), v)
	}
	if g, _ := b.Get("ethereum", "0xd3"); g != reg("0xd3") {
		t.Fatalf("0xd3 read from its change: %+v", g)
	}
	if n := sync("0xd2", "0xd3"); n["hgetall"] != 0 || n["xrange"] != 2 {
		t.Fatalf("sync with nothing new: %v, want two ranges of the stream read", n)
	}

	must(a.Put(ctx, reg("0xd5")))
	must(a.Put(ctx, reg("0xd6")))
	// Trimmed past the last change b read: what b missed may be gone from the stream.
	must(rdb.XTrimMaxLen(ctx, a.key("changes"), 1).Err())
	if n := sync("0xd2", "0xd3", "0xd5", "0xd6"); n["hgetall"] != 1 {
		t.Fatalf("sync after a trim: %v, want every registration read", n)
	}
	must(a.Put(ctx, reg("0xd7")))
	if n := sync("0xd2", "0xd3", "0xd5", "0xd6", "0xd7"); n["hgetall"] != 0 {
		t.Fatalf("sync after the trim's: %v, want the changes read only", n)
	}
	// Deleted (a Redis flushed and written to again): read everything.
	must(rdb.Del(ctx, a.key("changes"), a.key("registered:ethereum")).Err())
	if n := sync(); n["smembers"] != 1 {
		t.Fatalf("sync after the stream's deletion: %v, want every registration read", n)
	}
}

// TestRegistrySyncOrdersWhatItPut: a registration made through a Registry while its Sync
// reads the changes shows at once unless a later change, another process's deletion of the
// address, is among those read; that deletion wins in the end in any case, as in Redis.
// (Made again over every read, the registration outlived a deletion read with it: the
// next Sync, reading only the changes after, never undid it.)
func TestRegistrySyncOrdersWhatItPut(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		before bool // the changes are made before the read (it reads them), or after
		want   bool // registered after the sync (after the next, never)
	}{
		{name: "after the read", want: true},
		{name: "before the read", before: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdb, prefix := redistest.New(t)
			r, other := NewRegistry(rdb, prefix), NewRegistry(rdb, prefix)
			if err := r.Sync(ctx); err != nil { // a full read; the next reads changes
				t.Fatal(err)
			}
			hook := &putDuringRead{after: "xrange", before: tc.before, put: func() {
				err := r.Put(ctx, Registration{Chain: "ethereum", Address: "0xd8"})
				if err == nil {
					_, err = other.Delete(ctx, "ethereum", "0xd8")
				}
				if err != nil {
					t.Error(err)
				}
			}}
			rdb.AddHook(hook)
			if err := r.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if !hook.done {
				t.Fatal("no change made during a sync: the test tested nothing")
			}
			if _, ok := r.Get("ethereum", "0xd8"); ok != tc.want {
				t.Fatalf("registered %v after the sync, want %v", ok, tc.want)
			}
			if err := r.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if _, ok := r.Get("ethereum", "0xd8"); ok {
				t.Fatal("registered after the next sync, though another process deleted it")
			}
		})
	}
}

func FuzzDecodeChange(f *testing.F) {
	f.Add("ethereum", "0xd1", `{"chain":"ethereum","address":"0xd1","customer_ref":"c"}`, true)
	f.Add("ethereum", "0xd1", "", false)
	f.Add("", "0xd1", "{", true)
	f.Fuzz(func(t *testing.T, chain, addr, reg string, put bool) {
		values := map[string]any{fieldChain: chain, fieldAddress: addr}
		if put {
			values[fieldRegistration] = reg
		}
		c, err := decodeChange(redis.XMessage{ID: "1-1", Values: values})
		if err != nil {
			return
		}
		if c.Chain != chain || c.Address != addr || c.deleted == put || c.id != "1-1" {
			t.Fatalf("%+v from %v", c, values)
		}
	})
}

func TestIDAfter(t *testing.T) {
	for _, tc := range []struct {
		a, b    string
		want    bool
		wantErr bool
	}{
		{a: "2-0", b: "1-5", want: true},
		{a: "1-5", b: "1-5"},
		{a: "1-6", b: "1-5", want: true},
		{a: "1-5", b: "10-0"},
		{a: "", b: "1-5", want: true},
		{a: "1-5", b: "0-0", want: true},
		{a: "x", b: "1-5", wantErr: true},
		{a: "1-5", b: "1-", wantErr: true},
	} {
		got, err := idAfter(tc.a, tc.b)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("idAfter(%q, %q) = %v, %v; want %v (error %v)", tc.a, tc.b, got, err,
				tc.want, tc.wantErr)
		}
	}
}
