package ethereum

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/internal/fakerpc"
)

// TestFailover: two endpoints of one chain serving the recorded block 18000000. When one
// keeps failing (past its own retries), the call goes to the other, which stays current;
// when that one fails later, calls go back. When both fail, the error names the block.
func TestFailover(t *testing.T) {
	node := erigonNode(t)
	a, b := fakerpc.New(t, node.handle), fakerpc.New(t, node.handle)
	source := func(url string) *Source {
		s, err := New(mustDial(t, url), Options{Traces: TracesOff, Retries: 1,
			MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond,
			Timeout: time.Second, Logger: zaptest.NewLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	f := chains.NewFailover([]chains.Source{source(a.URL), source(b.URL)},
		[]string{"a", "b"}, zaptest.NewLogger(t))
	want := extractRange(t, source(b.URL), 18000000, 18000000)
	ctx := context.Background()
	get := func() []chains.Movement {
		t.Helper()
		blk, err := f.Block(ctx, 18000000)
		if err != nil {
			t.Fatal(err)
		}
		return blk.Movements
	}
	down := func(s *fakerpc.Server) {
		for range 20 {
			s.Inject(fakerpc.Status(503, 0))
		}
	}

	down(a)
	if got := get(); !reflect.DeepEqual(got, want) {
		t.Fatalf("through b: %d movements, want %d", len(got), len(want))
	}
	aSeen := a.Requests()
	if got := get(); !reflect.DeepEqual(got, want) {
		t.Fatal("second call differs")
	}
	if a.Requests() != aSeen {
		t.Fatal("after switching to b, a was asked again")
	}
	// a recovers (its queued faults are dropped by serving a request), then b goes down.
	// a recovers: its remaining faults are used up by requests of its own.
	for a.Requests() < aSeen+20 {
		_, _ = source(a.URL).Head(ctx)
	}
	down(b)
	if got := get(); !reflect.DeepEqual(got, want) {
		t.Fatal("back through a: movements differ")
	}
	// Both down: an error naming the block.
	down(a)
	down(b)
	_, err := f.Block(ctx, 18000000)
	if err == nil || !strings.Contains(err.Error(), "18000000") {
		t.Fatalf("both down: %v", err)
	}
}
