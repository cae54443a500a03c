package main

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/internal/streamaudit"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
)

// maxForkDepth is the most blocks a fork of TestKillRestartReorg orphans.
const maxForkDepth = 4

// TestKillRestartReorg is TestKillRestart with reorgs: after half of the rounds, at
// random, the chain forks back 1 to maxForkDepth blocks, whether a process runs, is being
// killed or is starting, and the pool mines the orphaned transactions again in the new
// branch (those it still can). When it has settled, every movement of the chain is in the
// stream exactly once and none is left standing in an orphaned block; for every alert, the
// receiver has exactly what the chain as it ends says (see checkReorgAlerts): its
// confirmation in the block that mined its transaction in the end, with the path from the
// block that mined the funding in the end, and one retraction for every alert raised in an
// orphaned block; and the taint store holds exactly the taint of the fundings mined, under
// poison, haircut and FIFO, in the blocks that mined them, less the payments mined, and
// counts it once, and an inference for each deposit address whose sweep is mined (see
// checkReorgTaint). No fork goes below the sweep of a deposit address paid (see
// depositRound). With confirmations the rules raise early warnings too: a fork of up to
// that many blocks orphans only what the scout warned of, and a deeper one what the
// workers confirmed too.
func TestKillRestartReorg(t *testing.T) {
	for _, confirmations := range []uint64{0, 2} {
		t.Run(fmt.Sprintf("confirmations=%d", confirmations), func(t *testing.T) {
			testKillRestartReorg(t, confirmations)
		})
	}
}

func testKillRestartReorg(t *testing.T, confirmations uint64) {
	ctx := context.Background()
	w := newLaunderWorld(t, launderOptions{lease: 300 * time.Millisecond,
		confirmations: confirmations, models: []string{rules.ModelHaircut, rules.ModelFIFO}})
	seed := uint64(time.Now().UnixNano())
	forks, orphaned := 0, 0
	reached := false                           // a fork orphaned a block the poller had published
	reorgs := mrand.New(mrand.NewPCG(seed, 8)) // the traffic's goroutine's alone
	stopSending := w.traffic(t, func(int) error {
		if reorgs.IntN(2) != 0 {
			return nil
		}
		// Mostly orphan what a running process published: wait a little for it (when none
		// runs, the wait ends by its deadline and the fork orphans what none has seen).
		// From the third fork on, until one has orphaned a published block, the fork is
		// as deep as any and waits longer: with confirmations, a shallower one orphans only
		// what the poller has not published, and a run of them alone would leave the
		// pipeline no reorg to undo.
		depth, wait := 1+reorgs.IntN(maxForkDepth), 200*time.Millisecond
		if !reached && forks >= 2 {
			depth, wait = maxForkDepth, 2*time.Second
		}
		w.waitPublished(ctx, wait)
		tip, _ := w.rdb.HGet(ctx, w.prefix+":{dev}:tip", "number").Uint64()
		head, err := w.chain.Client.BlockNumber(ctx)
		if err != nil {
			return err
		}
		n, err := w.fork(ctx, depth)
		forks++
		orphaned += n
		reached = reached || n > 0 && head-uint64(n) < tip
		return err
	})
	leftPending := w.killRounds(t, mrand.New(mrand.NewPCG(seed, 7)))
	stopSending()
	// The last fork's orphaned transactions may wait in the pool: mine them, and then the
	// blocks that confirm them.
	w.mineAll(ctx)
	for range confirmations {
		w.chain.Commit()
	}
	cmd, _ := startRun(t, w.cfg, "running")
	last, res := w.settle(t, cmd, true, func() error {
		_, err := w.checkReorgAlerts(ctx)
		return err
	})
	c, err := w.checkReorgAlerts(ctx)
	if err == nil {
		c.tainted, c.inferred, err = w.checkReorgTaint(ctx)
	}
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	t.Logf("seed %d: %d kills (%d leaving entries pending); %d forks orphaning %d blocks, "+
		"%d movements published as removed; %d movements up to block %d, each once in the "+
		"stream; %d alerts: %d early warnings, %d confirmations, %d retractions; %d "+
		"deliveries repeated; %d keys tainted; %d deposit addresses inferred; %d paid, %d "+
		"of them registered", seed, killRounds, leftPending, forks, orphaned,
		len(res.Removed), res.Published, last, c.Alerts, c.Provisional, c.Confirmed,
		c.Retracted, c.repeats, c.tainted, c.inferred, w.paidDeposits(), w.paidRegistered())
	if forks == 0 {
		t.Fatal("no fork: the traffic played too few flows")
	}
}

// waitPublished waits, at most limit, until the stream's tip is the chain's last confirmed
// block.
func (w *launderWorld) waitPublished(ctx context.Context, limit time.Duration) {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); {
		head, err := w.chain.Client.BlockNumber(ctx)
		tip, _ := w.rdb.HGet(ctx, w.prefix+":{dev}:tip", "number").Uint64()
		if err == nil && tip+w.opts.confirmations >= head {
			return
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
}

// fork makes the block depth blocks below the head the head, orphaning those above it (it
// goes no lower than block 1, nor below w.floor), and returns how many it orphaned. The
// pool takes their transactions back; the next block sealed mines them again (those it
// still can: a payment put back before the funding it spends is dropped).
func (w *launderWorld) fork(ctx context.Context, depth int) (int, error) {
	head, err := w.chain.Client.BlockNumber(ctx)
	if err != nil {
		return 0, err
	}
	to := max(1, int64(head)-int64(depth), int64(w.floor))
	if uint64(to) >= head {
		return 0, nil
	}
	parent, err := w.chain.Client.HeaderByNumber(ctx, big.NewInt(to))
	if err != nil {
		return 0, fmt.Errorf("header %d: %w", to, err)
	}
	if err := w.chain.Fork(parent.Hash()); err != nil {
		return 0, fmt.Errorf("fork at %d: %w", to, err)
	}
	return int(int64(head) - to), nil
}

// mineAll seals blocks until every transaction of w.flows, w.deposits and w.registered is
// mined, at most
// maxForkDepth+2 of them: each transaction waits for the one that funds it. What the pool
// dropped stays unmined: its alerts must be retracted. (A payment left in the pool would
// otherwise be mined by the blocks that confirm the last ones, too late to be confirmed.)
func (w *launderWorld) mineAll(ctx context.Context) {
	for range maxForkDepth + 2 {
		missing := 0
		var hs []common.Hash
		for _, f := range w.flows {
			hs = append(hs, f.fund, f.exchange, f.mixer)
		}
		for _, d := range w.deposits {
			hs = append(hs, d.deposit, d.sweep)
		}
		for _, p := range w.depositPayments() {
			hs = append(hs, p.tx)
		}
		for _, h := range hs {
			if _, err := w.chain.Client.TransactionReceipt(ctx, h); err != nil {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		w.chain.Commit()
	}
}

// reorgCounts are what checkReorgAlerts and checkReorgTaint found.
type reorgCounts struct {
	streamaudit.AlertCounts
	repeats, tainted, inferred int
}

// checkReorgAlerts compares what the receiver got with the chain as it is: per flow, the
// payment to the exchange raises a to-exchange alert (and one of to-exchange-<model> per
// model of w's) and the one to the mixer a to-mixer alert. Each alert raised (early warning
// or confirmation) in a block other than the one that mined its transaction in the end
// (none: it was dropped) is retracted there, once; it is confirmed in that block, not
// retracted there, naming the funding hop in the block that mined that in the end (see
// streamaudit.Alerts.Check). The payments to deposit addresses alert likewise
// (checkDepositAlerts). No other alert, no notification under more than one idempotency
// key.
func (w *launderWorld) checkReorgAlerts(ctx context.Context) (reorgCounts, error) {
	c := reorgCounts{AlertCounts: w.recv.alerts.Counts()}
	counts, bad := w.recv.snapshot()
	for _, n := range counts {
		c.repeats += n - 1
	}
	if multi := w.recv.multiKey(); multi > 0 || bad > 0 {
		return c, fmt.Errorf("%d notifications under more than one idempotency key, %d "+
			"failed verification", multi, bad)
	}
	ids := map[string]bool{}
	for _, f := range w.flows {
		fund, err := w.mined(ctx, f.fund)
		if err != nil {
			return c, err
		}
		type alert struct {
			rule string
			tx   common.Hash
		}
		want := []alert{{"to-exchange", f.exchange}, {"to-mixer", f.mixer}}
		for _, r := range modelRules(w.opts.models) {
			want = append(want, alert{r, f.exchange})
		}
		for _, p := range want {
			at, err := w.mined(ctx, p.tx)
			if err != nil {
				return c, err
			}
			final := ""
			if at != nil {
				final = at.hash
			}
			id := alerting.AlertID(p.rule, "dev", strings.ToLower(p.tx.Hex()),
				chains.PositionTx)
			ids[id] = true
			a, _, err := w.recv.alerts.Check(id, final)
			if err != nil {
				return c, err
			}
			if at != nil && (fund == nil || len(a.Path) != 2 || a.Path[0].Tx != fund.tx ||
				a.Path[0].Block != fund.number) {
				return c, fmt.Errorf("%s %s: path %+v, want its first hop in block %v",
					p.rule, p.tx.Hex(), a.Path, fund)
			}
		}
	}
	if err := w.checkDepositAlerts(ctx, ids); err != nil {
		return c, err
	}
	return c, w.recv.alerts.Unexpected(ids)
}

// checkReorgTaint compares the taint store with the chain as it is: exactly the fresh
// wallets whose funding is mined hold taint, under each model, each by the funding in the
// block that mined it in the end; under haircut and FIFO, what they hold is the funding
// less the payments mined (all of it watched funds), so a payment orphaned and mined again
// is counted once; and each model's counter of the addresses the source's funds reached is
// their number (what an orphaned funding added was taken back). It holds an inference for
// each deposit address whose sweep is mined, naming the deposit and the sweep in the blocks
// that mined them in the end (checkInference), and no other: a payment to a deposit
// address taints nothing. It returns the keys with taint, and the inferences.
func (w *launderWorld) checkReorgTaint(ctx context.Context) (tainted, inferred int,
	err error) {
	type expected struct {
		fund  *receiptRef
		holds *big.Int // what the fresh wallet holds as the chain ends
		model string
	}
	want := map[string]expected{} // by store key
	models := append([]string{rules.ModelPoison}, w.opts.models...)
	for _, f := range w.flows {
		fund, err := w.mined(ctx, f.fund)
		if err != nil {
			return 0, 0, err
		}
		if fund == nil {
			continue // dropped: no taint
		}
		holds := big.NewInt(fundWei)
		for _, p := range []struct {
			tx  common.Hash
			wei int64
		}{{f.exchange, toExchangeWei}, {f.mixer, toMixerWei}} {
			at, err := w.mined(ctx, p.tx)
			if err != nil {
				return 0, 0, err
			}
			if at != nil {
				holds.Sub(holds, big.NewInt(p.wei))
			}
		}
		for _, m := range models {
			want[rules.ModelKey(m, strings.ToLower(f.fresh.Hex()))] = expected{fund, holds, m}
		}
	}
	store := taint.NewRedis(w.rdb, w.prefix)
	var keys []string
	if err := store.Keys(ctx, "dev", func(k string) { keys = append(keys, k) }); err != nil {
		return 0, 0, err
	}
	taints, err := store.Taints(ctx, "dev", keys...)
	if err != nil {
		return 0, 0, err
	}
	inferences, err := w.wantInferences(ctx)
	if err != nil {
		return 0, 0, err
	}
	inferred = len(inferences)
	perModel := map[string]int64{}
	for _, k := range keys {
		if strings.HasPrefix(k, deposit.Key("")) {
			if err := checkInference(k, taints[k], inferences); err != nil {
				return 0, 0, err
			}
			delete(inferences, k)
			continue
		}
		t, e := taints[k], want[k]
		delete(want, k)
		switch {
		case e.fund == nil:
			return 0, 0, fmt.Errorf("taint of %s: by %s, on no mined funding", k, t.By)
		case len(t.Path) != 1 || t.Path[0].Tx != e.fund.tx || t.Path[0].Block != e.fund.number:
			return 0, 0, fmt.Errorf("taint of %s: path %+v, want the funding in block %d", k,
				t.Path, e.fund.number)
		}
		if err := checkHolds(e.model, t.Holdings, e.holds); err != nil {
			return 0, 0, fmt.Errorf("taint of %s: %w", k, err)
		}
		perModel[e.model]++
	}
	for k, e := range want {
		return 0, 0, fmt.Errorf("%s, funded in block %d, holds no taint", k, e.fund.number)
	}
	for k, e := range inferences {
		return 0, 0, fmt.Errorf("no inference %s, swept in block %d", k, e[1].number)
	}
	counts, err := store.Tracked(ctx, "dev")
	if err != nil {
		return 0, 0, err
	}
	for c, n := range counts {
		model, _, _ := strings.Cut(c, "|")
		perModel[model] -= n
	}
	for m, n := range perModel {
		if n != 0 {
			return 0, 0, fmt.Errorf("counters %v, for keys with taint under %s %d more", counts,
				m, n)
		}
	}
	return len(keys) - inferred, inferred, nil
}

// checkHolds checks what a fresh wallet holds under model: nothing recorded under poison,
// else holds, all of it watched funds.
func checkHolds(model string, hs []rules.Holding, holds *big.Int) error {
	if model == rules.ModelPoison {
		if len(hs) > 0 {
			return fmt.Errorf("holdings %+v under poison", hs)
		}
		return nil
	}
	if len(hs) != 1 || hs[0].Asset != chains.AssetNative {
		return fmt.Errorf("holdings %+v, want the chain's coin only", hs)
	}
	h := hs[0]
	if model == rules.ModelHaircut {
		if h.Balance.Cmp(holds) != 0 || h.Tainted.Cmp(holds) != 0 {
			return fmt.Errorf("holds %s, %s of it watched; want %s, all", h.Balance,
				h.Tainted, holds)
		}
		return nil
	}
	sum := new(big.Int)
	for _, l := range h.Lots {
		if !l.Tainted {
			return fmt.Errorf("lots %+v, want watched funds only", h.Lots)
		}
		sum.Add(sum, l.Amount)
	}
	if sum.Cmp(holds) != 0 {
		return fmt.Errorf("lots %+v: %s, want %s", h.Lots, sum, holds)
	}
	return nil
}

// receiptRef is where the chain mined a transaction.
type receiptRef struct {
	tx, hash string
	number   uint64
}

// mined returns where the chain mined h; nil if it did not (the pool dropped it).
func (w *launderWorld) mined(ctx context.Context, h common.Hash) (*receiptRef, error) {
	r, err := w.chain.Client.TransactionReceipt(ctx, h)
	if errors.Is(err, ethereum.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("receipt of %s: %w", h, err)
	}
	return &receiptRef{tx: strings.ToLower(h.Hex()), hash: strings.ToLower(r.BlockHash.Hex()),
		number: r.BlockNumber.Uint64()}, nil
}
