package watcher

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"go.uber.org/zap/zaptest"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains/ethereum"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/queue"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

// TestScoutEarlyWarning, on the simulated chain with real Redis and a poller that waits for
// two confirmations: a two-hop flow into a mixer is told as provisional while its blocks are
// unconfirmed (the first hop's taint exists only in the scout's memory then), and confirmed
// by the workers under the same alert id once published; a provisional alert whose block a
// reorg removes before its confirmation is retracted. Nothing is written to the taint store
// by the scout.
func TestScoutEarlyWarning(t *testing.T) {
	ctx := context.Background()
	w := newScoutWorld(t, false)
	c, src, mixer, store, j := w.c, w.src, w.mixer, w.store, w.j
	round, logged, send := w.round, w.logged, w.send
	fk := crypto.ToECDSAUnsafe(crypto.Keccak256([]byte("scout fresh")))
	fresh := crypto.PubkeyToAddress(fk.PublicKey)

	send(c.Keys[0], fresh, 10) // lazarus -> fresh
	send(fk, mixer, 5)         // fresh -> mixer: two hops, both blocks unconfirmed
	round()
	es := logged()
	if len(es) != 1 || es[0].Alert.State != alerting.StateProvisional ||
		len(es[0].Alert.Path) != 2 || es[0].Alert.Destination.Entity != "Tornado Cash" {
		t.Fatalf("after the flow: %+v", es)
	}
	if ts, _ := store.Taints(ctx, "dev", addr(fresh)); len(ts) != 0 {
		t.Fatal("the scout wrote taint, or the workers judged an unconfirmed block")
	}
	provisional := es[0].Alert
	send(c.Keys[3], c.Addrs[4], 1) // two more blocks: the flow is confirmed
	send(c.Keys[3], c.Addrs[4], 1)
	waitLogged(t, j, 2)
	round()
	if es = logged(); len(es) != 2 || es[1].Alert.State != alerting.StateConfirmed ||
		es[1].Alert.ID != provisional.ID {
		t.Fatalf("after confirmation: %+v", es)
	}

	// A reorg removes a block with a provisional alert before it is confirmed.
	send(c.Keys[0], mixer, 5)
	round()
	es = logged()
	if len(es) != 3 || es[2].Alert.State != alerting.StateProvisional {
		t.Fatalf("direct deposit: %+v", es)
	}
	orphan := es[2].Alert
	parent, err := src.Ref(ctx, orphan.Block-1)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Fork(common.HexToHash(parent.Hash)); err != nil {
		t.Fatal(err)
	}
	send(c.Keys[4], c.Addrs[5], 1) // the new branch, longer
	send(c.Keys[4], c.Addrs[5], 1)
	round()
	retracted := false
	for _, e := range logged() {
		if e.Alert.ID == orphan.ID && e.Alert.BlockHash == orphan.BlockHash &&
			e.Alert.State == alerting.StateRetracted {
			retracted = true
		}
	}
	if !retracted {
		t.Fatalf("the orphaned provisional alert was not retracted: %+v", logged())
	}
}

// scoutWorld is the simulated chain with real Redis, a poller that waits for two
// confirmations, a worker and a scout of the mixer world (mixerWorld), and the alert log
// they write.
type scoutWorld struct {
	t     *testing.T
	c     *devnet.Chain
	src   *ethereum.Source
	mixer common.Address
	j     *alerting.RedisJournal
	q     *queue.Redis
	store *taint.Redis
	scout *Scout
}

// newScoutWorld starts the world's poller and worker (stopped when t ends). The worker
// reads the scout's lists; delisted, the lists without the mixer (Lazarus only). edit, if
// any, changes the rules (the scout's and the worker's).
func newScoutWorld(t *testing.T, delisted bool, edit ...func(*rules.Rule)) *scoutWorld {
	rdb, prefix := redistest.New(t)
	c, src := devChain(t)
	mixer, lists, rs := mixerWorld(c)
	for _, e := range edit {
		for i := range rs {
			e(&rs[i])
		}
	}
	workerLists := lists
	if delisted {
		workerLists = watchlist.New()
		workerLists.AddSource("dev", addr(c.Addrs[0]), rules.Source{Entity: "Lazarus Group",
			Category: "sanctioned", List: "test"})
	}
	w := &scoutWorld{t: t, c: c, src: src, mixer: mixer,
		j:     alerting.NewRedisJournal(rdb, prefix, nil),
		q:     queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix}),
		store: taint.NewRedis(rdb, prefix)}
	stage := alerting.JournalStage{Journal: w.j}
	startPipelineAfter(t, 2, src, w.q, w.store, workerLists, rs, stage, "dev", 1)
	var err error
	if w.scout, err = NewScout(src, w.q, w.store, lists, rs, stage, ScoutOptions{
		Chain: "dev", Logger: zaptest.NewLogger(t)}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *scoutWorld) round() {
	w.t.Helper()
	if err := w.scout.Round(context.Background()); err != nil {
		w.t.Fatal(err)
	}
}

func (w *scoutWorld) logged() []alerting.Entry {
	w.t.Helper()
	es, err := w.j.Entries(context.Background(), 0, 100)
	if err != nil {
		w.t.Fatal(err)
	}
	return es
}

func (w *scoutWorld) send(k *ecdsaKey, to common.Address, n int64) {
	w.t.Helper()
	if r, err := w.c.Transfer(context.Background(), k, to, eth(n)); err != nil ||
		r.Status != 1 {
		w.t.Fatalf("transfer: %v", err)
	}
}

// judged waits until the poller published block n and the workers finished every entry.
func (w *scoutWorld) judged(n uint64) { w.t.Helper(); waitJudgedBlock(w.t, w.q, "dev", n) }

// waitJudgedBlock waits until the poller published block n of chain and the workers
// finished every entry of q.
func waitJudgedBlock(t *testing.T, q testQueue, chain string, n uint64) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		tip, err := q.Tip(ctx, chain)
		if err != nil {
			t.Fatal(err)
		}
		left, err := q.Backlog(ctx, chain)
		if err != nil {
			t.Fatal(err)
		}
		if tip.Number >= n && left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("block %d not judged (tip %d, backlog %d)", n, tip.Number, left)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
}

// TestScoutRetractsWhatWorkersJudgedOtherwise: the lists changed between a provisional
// alert and its block's publication (the workers no longer know the mixer: delisted). The
// workers judge the movement without raising the alert; once they have, the scout
// retracts its provisional alert, once, saying why, where it stayed provisional before.
func TestScoutRetractsWhatWorkersJudgedOtherwise(t *testing.T) {
	w := newScoutWorld(t, true)
	w.send(w.c.Keys[0], w.mixer, 5)
	w.round()
	es := w.logged()
	if len(es) != 1 || es[0].Alert.State != alerting.StateProvisional {
		t.Fatalf("after the deposit: %+v", es)
	}
	provisional := es[0].Alert
	w.send(w.c.Keys[3], w.c.Addrs[4], 1) // two more blocks: the deposit is published
	w.send(w.c.Keys[3], w.c.Addrs[4], 1)
	w.judged(provisional.Block)
	w.round()
	w.round()
	var got []string
	for _, e := range w.logged() {
		if e.Alert.ID != provisional.ID {
			t.Fatalf("an alert of another movement: %+v", e.Alert)
		}
		got = append(got, string(e.Alert.State)+": "+e.Alert.Note)
	}
	want := "provisional: ; retracted: not confirmed: the workers judged its movement " +
		"otherwise once its block was published"
	if g := strings.Join(got, "; "); g != want {
		t.Fatalf("the alert log holds %q, want %q", g, want)
	}
	if n := len(w.scout.raised); n != 0 {
		t.Fatalf("%d provisional alerts still in force", n)
	}
}

// mixerWorld is what the scout tests watch on c: a mixer, lists naming it and the first
// account (Lazarus), and a rule alerting on deposits into the mixer.
func mixerWorld(c *devnet.Chain) (common.Address, *watchlist.Lists, []rules.Rule) {
	mixer := common.HexToAddress("0xA160cdAB225685dA1d56aa342Ad8841c3b53f291")
	lists := watchlist.New()
	lists.AddSource("dev", addr(c.Addrs[0]), rules.Source{Entity: "Lazarus Group",
		Category: "sanctioned", List: "test"})
	lists.AddLabel("dev", addr(mixer), rules.Label{Entity: "Tornado Cash", Category: "mixer"})
	return mixer, lists, []rules.Rule{{Name: "to-mixer", Severity: "critical",
		Destinations: []string{"mixer"}, MaxHops: 3}}
}

// waitLogged waits until the alert log has n entries.
func waitLogged(t *testing.T, j alerting.Journal, n uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		seq, _, err := j.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if seq >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the alert log has %d entries, want %d", seq, n)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
}

// TestScoutSettlesAfterRestart: a scout raised two provisional alerts, then stopped (a
// restart); while none ran, a reorg removed the second one's block (the new branch mined
// its transfer again). A scout started again reads the alerts it left unsettled back from
// the alert log and retracts that one, once, and keeps the first, still on the chain,
// without raising it again. A scout not given the log cannot: the alert stays provisional.
func TestScoutSettlesAfterRestart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		log     bool
		retract bool
	}{
		{name: "log read back", log: true, retract: true},
		{name: "no log", log: false, retract: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			rdb, prefix := redistest.New(t)
			c, src := devChain(t)
			mixer, lists, rs := mixerWorld(c)
			j := alerting.NewRedisJournal(rdb, prefix, nil)
			q := queue.NewRedis(rdb, queue.RedisOptions{Prefix: prefix})
			store := taint.NewRedis(rdb, prefix)
			scout := func(log AlertLog) *Scout {
				s, err := NewScout(src, q, store, lists, rs, alerting.JournalStage{Journal: j},
					ScoutOptions{Chain: "dev", Log: log, Logger: zaptest.NewLogger(t)})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			logged := func() []alerting.Entry {
				es, err := j.Entries(ctx, 0, 100)
				if err != nil {
					t.Fatal(err)
				}
				return es
			}
			send := func(n int64) {
				t.Helper()
				if r, err := c.Transfer(ctx, c.Keys[0], mixer, eth(n)); err != nil ||
					r.Status != 1 {
					t.Fatalf("transfer: %v", err)
				}
			}
			before := scout(j)
			send(1)
			send(2)
			if err := before.Round(ctx); err != nil {
				t.Fatal(err)
			}
			es := logged()
			if len(es) != 2 || es[0].Alert.State != alerting.StateProvisional ||
				es[1].Alert.State != alerting.StateProvisional {
				t.Fatalf("before the restart: %+v", es)
			}
			kept, orphan := es[0].Alert, es[1].Alert // raised in no set order
			if kept.Block > orphan.Block {
				kept, orphan = orphan, kept
			}
			parent, err := src.Ref(ctx, orphan.Block-1)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Fork(common.HexToHash(parent.Hash)); err != nil {
				t.Fatal(err)
			}
			for range 2 { // the new branch, longer
				if _, err := c.Transfer(ctx, c.Keys[4], c.Addrs[5], eth(1)); err != nil {
					t.Fatal(err)
				}
			}
			var log AlertLog
			if tc.log {
				log = j
			}
			// Another scout, whose node is ahead, raised one in a block this node has not
			// seen yet: it is kept (if read back), neither retracted nor raised again.
			ahead := alerting.Alert{ID: "ahead", Rule: "to-mixer", Chain: "dev",
				Block: 1000, BlockHash: "0xahead", State: alerting.StateProvisional}
			if _, err := j.Append(ctx, ahead); err != nil {
				t.Fatal(err)
			}
			after := scout(log)
			for range 2 { // the second round finds nothing more to do
				if err := after.Round(ctx); err != nil {
					t.Fatal(err)
				}
			}
			// The new branch mined the orphaned transfer again: a new provisional alert, in
			// a block of the same height ("again").
			var states []string
			for _, e := range logged() {
				a := e.Alert
				s := fmt.Sprintf("%s@%d", a.State, a.Block)
				if a.Block == orphan.Block && a.BlockHash != orphan.BlockHash {
					s += " again"
				}
				states = append(states, s)
			}
			want := []string{fmt.Sprintf("provisional@%d", es[0].Alert.Block),
				fmt.Sprintf("provisional@%d", es[1].Alert.Block), "provisional@1000",
				fmt.Sprintf("provisional@%d again", orphan.Block)}
			inForce := 2
			if tc.retract {
				want = append(want, fmt.Sprintf("retracted@%d", orphan.Block))
				inForce++ // the one ahead
			}
			if strings.Join(states, "; ") != strings.Join(want, "; ") {
				t.Fatalf("the alert log holds %q, want %q", states, want)
			}
			if n := len(after.raised); n != inForce {
				t.Fatalf("the scout has %d provisional alerts in force, want %d", n, inForce)
			}
		})
	}
}

// TestMovementKey: the scout finds the movement that raised an alert by the alert's chain,
// transaction and position; a Bitcoin alert names an output of its transaction, which is
// the movement.
func TestMovementKey(t *testing.T) {
	tests := []struct {
		name string
		give alerting.Alert
		want string
	}{
		{"evm transaction", alerting.Alert{Chain: "ethereum", Tx: "0xab", Position: "tx"},
			"ethereum/0xab/tx"},
		{"evm log", alerting.Alert{Chain: "ethereum", Tx: "0xab", Position: "log:3"},
			"ethereum/0xab/log:3"},
		{"bitcoin output", alerting.Alert{Chain: "bitcoin", Tx: "cd", Position: "vout:1"},
			"bitcoin/cd/tx"},
	}
	for _, tt := range tests {
		if got := movementKey(&tt.give); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestScoutKeepsTheCap: under a rule that follows one address per source (max_tracked), the
// scout's early warnings follow what the workers will, counting in its own memory the
// addresses that unconfirmed blocks made tracked: of two fresh wallets Lazarus pays in one
// block, only the first is followed, so only its deposit into the mixer, in the next block,
// is told as provisional (and then confirmed); the second's, past the cap, is told neither
// way.
func TestScoutKeepsTheCap(t *testing.T) {
	ctx := context.Background()
	w := newScoutWorld(t, false, func(r *rules.Rule) { r.MaxTracked = 1 })
	c, mixer := w.c, w.mixer
	fk1 := crypto.ToECDSAUnsafe(crypto.Keccak256([]byte("scout capped 1")))
	fk2 := crypto.ToECDSAUnsafe(crypto.Keccak256([]byte("scout capped 2")))
	fresh1, fresh2 := crypto.PubkeyToAddress(fk1.PublicKey), crypto.PubkeyToAddress(fk2.PublicKey)
	block := func(txs ...devnet.Tx) { // in one block
		t.Helper()
		for _, tx := range txs {
			if _, err := c.Submit(ctx, tx); err != nil {
				t.Fatal(err)
			}
		}
		c.Commit()
	}
	block(devnet.Tx{Key: c.Keys[0], To: &fresh1, Value: eth(10)}, // followed
		devnet.Tx{Key: c.Keys[0], To: &fresh2, Value: eth(10)}) // past the cap
	block(devnet.Tx{Key: fk2, To: &mixer, Value: eth(5)},
		devnet.Tx{Key: fk1, To: &mixer, Value: eth(5)})
	w.round() // both blocks unconfirmed: nothing judged by the workers yet
	es := w.logged()
	if len(es) != 1 || es[0].Alert.State != alerting.StateProvisional ||
		!strings.EqualFold(es[0].Alert.Path[1].From, addr(fresh1)) {
		t.Fatalf("early warnings: %+v", es)
	}
	w.send(c.Keys[3], c.Addrs[4], 1) // two more blocks: the flows are confirmed
	w.send(c.Keys[3], c.Addrs[4], 1)
	w.judged(2)
	w.round()
	es = w.logged()
	if len(es) != 2 || es[1].Alert.State != alerting.StateConfirmed ||
		es[1].Alert.ID != es[0].Alert.ID {
		t.Fatalf("after confirmation: %+v", es)
	}
}
