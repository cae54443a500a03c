package main

// The deposit flows of the kill tests: a customer's deposit at an address of the exchange's,
// swept to the hot wallet (an inferred deposit address), which the watched wallet then
// pays: an alert that only a worker remembering the deposit raises. Workers killed and
// started again remember it by reading the stream back (warm); under reorgs, by reading
// back what a removal took away too.

import (
	"context"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// What a deposit flow pays, in wei: the customer's deposit, its sweep (all but the 0.01 ETH
// that a sweep may keep for its fee, deposit.DefaultNativeTolerance), and the watched
// wallet's payment to the deposit address.
const (
	depositWei   = 3e17
	sweepWei     = 29e16
	toDepositWei = 1e17
)

// depositTxs are a deposit flow's transactions: the customer's deposit at addr and addr's
// sweep; pay, the watched wallet's payment to addr (zero until it is sent).
type depositTxs struct {
	addr                common.Address
	deposit, sweep, pay common.Hash
}

// depositRound plays round i's deposit flow: the customer (the chain's second key) deposits
// at a new address, which sweeps the deposit to the exchange. Then the watched wallet pays
// the first deposit address not paid yet whose sweep is mined maxForkDepth blocks or more
// below the head; from then on no fork goes below the sweep's block (w.floor), so that the
// chain keeps the sweep before the payment as forks come and go (the pool mines the
// transactions of orphaned blocks again in an order of its own). Traffic's goroutine only.
func (w *launderWorld) depositRound(ctx context.Context, i int) error {
	k := crypto.ToECDSAUnsafe(crypto.Keccak256([]byte(fmt.Sprintf("kill/deposit/%d", i))))
	d := depositTxs{addr: crypto.PubkeyToAddress(k.PublicKey)}
	for _, tx := range []struct {
		tx devnet.Tx
		h  *common.Hash
	}{
		{devnet.Tx{Key: w.chain.Keys[1], To: &d.addr, Value: big.NewInt(depositWei)},
			&d.deposit},
		{devnet.Tx{Key: k, To: &w.exchange, Value: big.NewInt(sweepWei)}, &d.sweep},
	} {
		r, err := w.chain.Send(ctx, tx.tx)
		if err != nil || r.Status != 1 {
			return fmt.Errorf("deposit flow %d: %v", i, err)
		}
		*tx.h = r.TxHash
	}
	w.deposits = append(w.deposits, d)
	head, err := w.chain.Client.BlockNumber(ctx)
	if err != nil {
		return err
	}
	for j := range w.deposits {
		d := &w.deposits[j]
		if d.pay != (common.Hash{}) {
			continue
		}
		at, err := w.mined(ctx, d.sweep)
		if err != nil {
			return err
		}
		if at == nil || at.number+maxForkDepth > head {
			continue // dropped by the pool, or a fork may still orphan it
		}
		r, err := w.chain.Send(ctx, devnet.Tx{Key: w.chain.Keys[0], To: &d.addr,
			Value: big.NewInt(toDepositWei)})
		if err != nil || r.Status != 1 {
			return fmt.Errorf("deposit flow %d, payment: %v", j, err)
		}
		d.pay, w.floor = r.TxHash, max(w.floor, at.number)
		return nil
	}
	return nil
}

// paidDeposits is how many deposit addresses the watched wallet paid, inferred or
// registered.
func (w *launderWorld) paidDeposits() int { return len(w.depositPayments()) }

// checkDepositAlerts checks, as checkReorgAlerts does for the laundering flows, the alerts
// of the payments to deposit addresses (inferred and registered): to-exchange, and
// to-exchange-<model> per model of w's, each with the one hop of the payment in the block
// that mined it in the end. It adds their ids to ids.
func (w *launderWorld) checkDepositAlerts(ctx context.Context, ids map[string]bool) error {
	for _, d := range w.depositPayments() {
		at, err := w.mined(ctx, d.tx)
		if err != nil {
			return err
		}
		final := ""
		if at != nil {
			final = at.hash
		}
		for _, rule := range append([]string{"to-exchange"}, modelRules(w.opts.models)...) {
			id := alerting.AlertID(rule, "dev", strings.ToLower(d.tx.Hex()),
				chains.PositionTx)
			ids[id] = true
			a, _, err := w.recv.alerts.Check(id, final)
			if err != nil {
				return fmt.Errorf("payment to deposit address %s: %w", d.addr.Hex(), err)
			}
			if at != nil && (len(a.Path) != 1 || a.Path[0].Tx != at.tx ||
				a.Path[0].Block != at.number) {
				return fmt.Errorf("%s %s: path %+v, want the payment in block %d", rule,
					d.tx.Hex(), a.Path, at.number)
			}
		}
	}
	return nil
}

// modelRules are the names of the rules of models, one per model (to-exchange-<model>).
func modelRules(models []string) []string {
	var out []string
	for _, m := range models {
		out = append(out, "to-exchange-"+m)
	}
	return out
}

// wantInferences returns, by store key, the inferences the store should hold as the chain
// ends: one per deposit address whose sweep is mined, its path the deposit and the sweep in
// the blocks that mined them.
func (w *launderWorld) wantInferences(ctx context.Context) (map[string][2]*receiptRef,
	error) {
	want := map[string][2]*receiptRef{}
	for _, d := range w.deposits {
		sweep, err := w.mined(ctx, d.sweep)
		if err != nil {
			return nil, err
		}
		if sweep == nil {
			continue // dropped: no inference
		}
		dep, err := w.mined(ctx, d.deposit)
		if err != nil {
			return nil, err
		}
		want[deposit.Key(strings.ToLower(d.addr.Hex()))] = [2]*receiptRef{dep, sweep}
	}
	return want, nil
}

// checkInference checks the stored inference t of key against want (see wantInferences).
func checkInference(key string, t rules.Taint, want map[string][2]*receiptRef) error {
	e, ok := want[key]
	switch {
	case !ok:
		return fmt.Errorf("inference %s: by %s, on no sweep mined", key, t.By)
	case e[0] == nil:
		return fmt.Errorf("inference %s: the sweep is mined, its deposit not", key)
	}
	dep, sweep := e[0], e[1]
	if len(t.Path) != 2 || t.Path[0].Tx != dep.tx || t.Path[0].Block != dep.number ||
		t.Path[1].Tx != sweep.tx || t.Path[1].Block != sweep.number {
		return fmt.Errorf("inference %s: path %+v, want the deposit in block %d and the "+
			"sweep in block %d", key, t.Path, dep.number, sweep.number)
	}
	return nil
}
