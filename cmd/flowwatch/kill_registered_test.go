package main

// The registered-deposit flows of the kill tests: an exchange registers a deposit address
// (as `flowwatch serve` would, in Redis), and the watched wallet pays it: an alert that
// only a worker that read the registration raises. The payment waits until a process has
// started since the registration, all of whose workers must know it before they judge:
// every process reads the registrations as it starts, and the one running when it was made
// has been killed (killRounds runs one at a time). So the alert does not wait on the 2 s
// sync of a running process, and a worker that judged its backlog before its first read
// loses it.

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/watcher/deposit"
)

// registeredTxs is a registered-deposit flow: the address registered, how many processes
// killRounds had started when it was registered, and the watched wallet's payment to it
// (zero until it is sent).
type registeredTxs struct {
	addr  common.Address
	epoch int64
	pay   common.Hash
}

// registeredRound registers round i's deposit address, then pays the first registered
// address not paid yet that a process started since registering (see the top of the
// file). Traffic's goroutine only.
func (w *launderWorld) registeredRound(ctx context.Context, i int) error {
	k := crypto.ToECDSAUnsafe(crypto.Keccak256([]byte(fmt.Sprintf("kill/registered/%d", i))))
	r := registeredTxs{addr: crypto.PubkeyToAddress(k.PublicKey)}
	reg := deposit.NewRegistry(w.rdb, w.prefix)
	if err := reg.Put(ctx, deposit.Registration{Chain: "dev",
		Address: strings.ToLower(r.addr.Hex()), Customer: fmt.Sprint("kill-", i),
		At: time.Now().UTC()}); err != nil {
		return fmt.Errorf("registered flow %d: %w", i, err)
	}
	r.epoch = w.starts.Load()
	w.registered = append(w.registered, r)
	for j := range w.registered {
		r := &w.registered[j]
		if r.pay != (common.Hash{}) || r.epoch >= w.starts.Load() {
			continue
		}
		tx, err := w.chain.Send(ctx, devnet.Tx{Key: w.chain.Keys[0], To: &r.addr,
			Value: big.NewInt(toDepositWei)})
		if err != nil || tx.Status != 1 {
			return fmt.Errorf("registered flow %d, payment: %v", j, err)
		}
		r.pay = tx.TxHash
		return nil
	}
	return nil
}

// paidRegistered is how many registered deposit addresses the watched wallet paid.
func (w *launderWorld) paidRegistered() int {
	n := 0
	for _, r := range w.registered {
		if r.pay != (common.Hash{}) {
			n++
		}
	}
	return n
}

// payment is the watched wallet's payment to a deposit address, inferred or registered.
type payment struct {
	addr common.Address
	tx   common.Hash
}

// depositPayments are the watched wallet's payments to deposit addresses, of the deposit
// flows and the registered ones: each alerts once per rule to the exchange.
func (w *launderWorld) depositPayments() []payment {
	var out []payment
	for _, d := range w.deposits {
		if d.pay != (common.Hash{}) {
			out = append(out, payment{d.addr, d.pay})
		}
	}
	for _, r := range w.registered {
		if r.pay != (common.Hash{}) {
			out = append(out, payment{r.addr, r.pay})
		}
	}
	return out
}
