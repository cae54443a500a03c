package ethereum

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/internal/fakerpc"
)

// failoverTimeout bounds a request in the failover tests, which inject no hang: long enough
// that a loaded CI machine never times out a healthy fake endpoint (a 1 s bound once did,
// and the endpoint was taken for failed).
const failoverTimeout = 10 * time.Second

// failoverSource is a source of the endpoint at url that retries once, quickly, so that a
// failover test's faults pass to the next endpoint soon.
func failoverSource(t *testing.T, url string) *Source {
	t.Helper()
	s, err := New(mustDial(t, url), Options{Traces: TracesOff, Retries: 1,
		MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond,
		Timeout: failoverTimeout, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// failoverOf is a failover of endpoints "a" and "b" (failoverSource) at urls a and b.
func failoverOf(t *testing.T, a, b string) *chains.Failover {
	t.Helper()
	f, err := chains.NewFailover([]chains.Source{failoverSource(t, a), failoverSource(t, b)},
		chains.FailoverOptions{Names: []string{"a", "b"}, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestFailover: two endpoints of one chain serving the recorded block 18000000. When one
// keeps failing (past its own retries), the call goes to the other, which stays current;
// when that one fails later, calls go back. When both fail, the error names the block.
func TestFailover(t *testing.T) {
	node := erigonNode(t)
	a, b := fakerpc.New(t, node.handle), fakerpc.New(t, node.handle)
	source := func(url string) *Source { return failoverSource(t, url) }
	f := failoverOf(t, a.URL, b.URL)
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

// TestFailoverHealth: four endpoints of mainnet block 18000000 (recorded): two at the head
// (weights 1 and 2), one 10 blocks behind, one whose block 18000000 has another hash.
// A check demotes the laggard and the dissenter; calls go to the heaviest healthy endpoint,
// then the other healthy one when it fails, and to a demoted one only when every healthy
// one fails. The laggard is restored once it catches up.
func TestFailoverHealth(t *testing.T) {
	ctx := context.Background()
	const top = 18000002 // the block compared is two below the lowest healthy head
	good := erigonNode(t)
	good.head = top
	lagging := erigonNode(t)
	lagging.head = top - 10
	forked := erigonNode(t)
	forked.head = top
	var blk map[string]json.RawMessage
	if err := json.Unmarshal(forked.blocks[18000000], &blk); err != nil {
		t.Fatal(err)
	}
	blk["hash"] = json.RawMessage(`"0x` + strings.Repeat("ab", 32) + `"`)
	raw, err := json.Marshal(blk)
	if err != nil {
		t.Fatal(err)
	}
	forked.blocks = map[uint64]json.RawMessage{18000000: raw}
	servers := []*fakerpc.Server{fakerpc.New(t, good.handle), fakerpc.New(t, good.handle),
		fakerpc.New(t, lagging.handle), fakerpc.New(t, forked.handle)}
	var srcs []chains.Source
	for _, srv := range servers {
		s, err := New(mustDial(t, srv.URL), Options{Traces: TracesOff, Retries: -1,
			Timeout: failoverTimeout, Logger: zaptest.NewLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, s)
	}
	f, err := chains.NewFailover(srcs, chains.FailoverOptions{
		Names: []string{"light", "heavy", "lagging", "forked"}, Weights: []int{1, 2, 1, 1},
		MaxLag: 5, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	f.Check(ctx)
	var got []string
	for _, h := range f.Health() {
		got = append(got, fmt.Sprintf("%s:%d:%v", h.Name, h.Head, h.Demoted != ""))
	}
	want := "light:18000002:false heavy:18000002:false lagging:17999992:true " +
		"forked:18000002:true"
	if strings.Join(got, " ") != want {
		t.Fatalf("health %v, want %s", got, want)
	}
	served := func() []int64 {
		out := make([]int64, len(servers))
		for i, s := range servers {
			out[i] = s.Calls("eth_getBlockByNumber")
		}
		return out
	}
	block := func() {
		t.Helper()
		if _, err := f.Block(ctx, 18000000); err != nil {
			t.Fatal(err)
		}
	}
	which := func(before []int64) string {
		after := served()
		var names []string
		for i, n := range after {
			if n > before[i] {
				names = append(names, f.Health()[i].Name)
			}
		}
		return strings.Join(names, ",")
	}
	before := served()
	block()
	if w := which(before); w != "heavy" {
		t.Fatalf("served by %s, want heavy", w)
	}
	servers[1].Inject(fakerpc.Status(503, 0))
	before = served()
	block()
	if w := which(before); w != "light,heavy" {
		t.Fatalf("heavy failing: asked %s, want heavy and light", w)
	}
	servers[0].Inject(fakerpc.Status(503, 0))
	servers[1].Inject(fakerpc.Status(503, 0))
	before = served()
	block()
	if w := which(before); w != "light,heavy,lagging" {
		t.Fatalf("both healthy failing: asked %s, want light, heavy, then lagging", w)
	}
	lagging.head = top
	f.Check(ctx)
	if h := f.Health()[2]; h.Demoted != "" {
		t.Fatalf("caught up, still demoted: %s", h.Demoted)
	}
	if h := f.Health()[3]; !strings.Contains(h.Demoted, "block 18000000 is 0xabab") {
		t.Fatalf("forked: %q", h.Demoted)
	}
}

// TestFailoverTx: a transaction the preferred endpoint does not know (it has not seen it
// yet: here, another chain's node) is asked of the next, which has mined it; one that no
// endpoint knows is ErrTxNotFound, which deposit screening reports as not found.
func TestFailoverTx(t *testing.T) {
	ctx := context.Background()
	known, other := startChain(t, false), startChain(t, false)
	r, err := known.Transfer(ctx, known.Keys[0], known.Addrs[1], eth(2))
	if err != nil || r.Status != 1 {
		t.Fatalf("transfer: %v", err)
	}
	f, err := chains.NewFailover([]chains.Source{failoverSource(t, other.URL),
		failoverSource(t, known.URL)}, chains.FailoverOptions{Names: []string{"other", "known"},
		Weights: []int{2, 1}, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	hash := strings.ToLower(r.TxHash.Hex())
	tx, err := f.Tx(ctx, hash)
	if err != nil || !tx.Mined || tx.Hash != hash || tx.Block.Number != r.BlockNumber.Uint64() ||
		len(tx.Movements) != 1 || tx.Movements[0].Outputs[0].Amount.Cmp(eth(2)) != 0 {
		t.Fatalf("tx %+v, %v", tx, err)
	}
	_, err = f.Tx(ctx, "0x"+strings.Repeat("ab", 32))
	if !errors.Is(err, chains.ErrTxNotFound) {
		t.Fatalf("an unknown transaction: %v, want ErrTxNotFound", err)
	}
}
