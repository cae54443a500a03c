package main

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/redis/go-redis/v9"

	"github.com/flowwatch/flowwatch/chains/ethereum"
	"github.com/flowwatch/flowwatch/internal/streamaudit"
)

const (
	prefix = "soak"
	secret = "soak-secret"
)

// world is the chain's actors, the flowwatch config and the webhook receiver.
type world struct {
	node            *gethNode
	rds             *redisProc
	ec              *ethclient.Client
	chainID         *big.Int
	watched, clean  *account
	exchange, mixer common.Address
	startBlock      uint64
	confirmations   uint64 // the chain's, in the config; > 0: the scout's early warnings too
	cfg             string
	recv            *receiver
	// sent is every transaction sent, in order (each mined before the next is sent), with
	// the block that mined it, for a reorg to send again what it orphaned; flows, the
	// flows' transactions that alert.
	sent  []sentTx
	flows []flowTxs
	// floor is the lowest block a fork may set the head to: that of the last sweep from a
	// deposit address that the watched wallet then paid. The payment must follow the sweep
	// for its alert (see flow), and after debug_setHead geth's pool puts the orphaned
	// transactions back, so that a fork below the sweep can mine the payment, whose sender
	// is another, before it.
	floor uint64
}

// sentTx is a transaction sent and the block that mined it (0: not mined yet).
type sentTx struct {
	tx    *types.Transaction
	block uint64
}

// flowTxs are the transactions of a flow that alert: the fresh wallet's payments to the
// exchange (to-exchange) and the mixer (to-mixer), and the watched wallet's to the
// deposit address (to-exchange); and the deposit address's sweep, which that payment must
// follow.
type flowTxs struct{ toExchange, toMixer, toDeposit, sweep common.Hash }

// account is a key of ours and its next nonce.
type account struct {
	key   *ecdsa.PrivateKey
	addr  common.Address
	nonce uint64
}

func newAccount(seed string) *account {
	k := crypto.ToECDSAUnsafe(crypto.Keccak256([]byte(seed)))
	return &account{key: k, addr: crypto.PubkeyToAddress(k.PublicKey)}
}

func newWorld(ctx context.Context, node *gethNode, rds *redisProc, dir string,
	confirmations uint64) (*world, error) {
	rc, err := rpc.DialContext(ctx, node.url)
	if err != nil {
		return nil, err
	}
	w := &world{node: node, rds: rds, ec: ethclient.NewClient(rc),
		watched: newAccount("soak/watched"), clean: newAccount("soak/clean"),
		exchange:      common.HexToAddress("0x28C6c06298d514Db089934071355E5743bf21d60"),
		mixer:         common.HexToAddress("0xA160cdAB225685dA1d56aa342Ad8841c3b53f291"),
		confirmations: confirmations}
	if w.chainID, err = w.ec.ChainID(ctx); err != nil {
		return nil, err
	}
	// The dev account funds the watched wallet (the stolen funds) and a clean one.
	var accounts []common.Address
	if err := rc.CallContext(ctx, &accounts, "eth_accounts"); err != nil || len(accounts) == 0 {
		return nil, fmt.Errorf("dev account: %v", err)
	}
	var last common.Hash
	for _, a := range []*account{w.watched, w.clean} {
		if err := rc.CallContext(ctx, &last, "eth_sendTransaction", map[string]any{
			"from": accounts[0], "to": a.addr,
			"value": (*hexutil.Big)(new(big.Int).Mul(big.NewInt(1_000_000),
				big.NewInt(1e18)))}); err != nil {
			return nil, fmt.Errorf("fund: %w", err)
		}
	}
	if _, err := w.wait(ctx, last); err != nil {
		return nil, err
	}
	head, err := w.ec.BlockNumber(ctx)
	if err != nil {
		return nil, err
	}
	w.startBlock = head + 1
	lower := func(a common.Address) string { return strings.ToLower(a.Hex()) }
	list := "chain,address,role,category,entity,source,valid_from,valid_to\n" +
		"dev," + lower(w.watched.addr) + ",source,hack,Lazarus Group (soak),soak,,\n" +
		"dev," + lower(w.exchange) + ",label,exchange,Binance 14,soak,,\n" +
		"dev," + lower(w.mixer) + ",label,mixer,Tornado Cash,soak,,\n"
	if err := os.WriteFile(filepath.Join(dir, "list.csv"), []byte(list), 0o600); err != nil {
		return nil, err
	}
	if w.recv, err = newReceiver(); err != nil {
		return nil, err
	}
	w.cfg = filepath.Join(dir, "flowwatch.yaml")
	cfg := fmt.Sprintf(`redis:
  url: %s
  prefix: %s
chains:
  - name: dev
    family: evm
    rpc: [%s]
    confirmations: %d
    start_block: %d
    poll_interval: 200ms
    traces: off
    deposits:
      infer: true
lists:
  - path: list.csv
rules:
  - name: to-exchange
    destinations: [exchange]
    max_hops: 3
    early_warning: %[8]v
    sinks: [hook]
  - name: to-mixer
    severity: critical
    destinations: [mixer]
    max_hops: 3
    early_warning: %[8]v
    sinks: [hook]
  - name: pooled
    pattern: fan_in
    count: 3
    window: 1h
    sinks: [hook]
sinks:
  - name: hook
    type: webhook
    url: %[6]s
    secret: %[7]s
alerting:
  group_wait: 0s
  group_interval: 100ms
claim_idle: 2s
poller_lease: 2s
`, rds.url(), prefix, node.url, confirmations, w.startBlock, w.recv.url, secret,
		confirmations > 0)
	return w, os.WriteFile(w.cfg, []byte(cfg), 0o600)
}

// submit hands tx to the node. geth's pool may judge a transaction by the block before the
// one just mined (the funds that block brought look missing): it sends again for a while.
func (w *world) submit(ctx context.Context, tx *types.Transaction) error {
	for deadline := time.Now().Add(10 * time.Second); ; {
		err := w.ec.SendTransaction(ctx, tx)
		if err == nil || time.Now().After(deadline) ||
			!strings.Contains(err.Error(), "insufficient funds") {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// send signs and sends a payment from a to to.
func (w *world) send(ctx context.Context, a *account, to common.Address, wei int64) (
	common.Hash, error) {
	tx, err := types.SignNewTx(a.key, types.LatestSignerForChainID(w.chainID),
		&types.DynamicFeeTx{ChainID: w.chainID, Nonce: a.nonce, GasTipCap: big.NewInt(1e9),
			GasFeeCap: big.NewInt(100e9), Gas: 21_000, To: &to, Value: big.NewInt(wei)})
	if err != nil {
		return common.Hash{}, err
	}
	if err := w.submit(ctx, tx); err != nil {
		return common.Hash{}, err
	}
	a.nonce++
	w.sent = append(w.sent, sentTx{tx: tx})
	return tx.Hash(), nil
}

// alertsPerFlow is how many alerts a flow raises.
const alertsPerFlow = 3

// played is what play did.
type played struct {
	flows, forks, orphaned, resent int // resent: transactions a fork orphaned, sent again
}

// maxForkDepth is the most blocks a fork orphans.
const maxForkDepth = 4

// play sends a flow every every (at most) until the returned stop is called, which
// returns what it played, or until a flow fails (failed is closed; stop returns why):
// the watched wallet pays a fresh wallet, which pays the exchange and the mixer (two
// alerts); the clean wallet pays the exchange (none), and a deposit address that sweeps
// what it got to the exchange, which the watched wallet then pays (the third alert). With
// forks not nil, after a twentieth of the transactions (at random, from forks: about one
// flow in three) the chain forks back 1 to maxForkDepth blocks (see fork).
func (w *world) play(ctx context.Context, every time.Duration,
	forks *mrand.Rand) (stop func() (played, error), failed <-chan struct{}) {
	done, fail := make(chan struct{}), make(chan struct{})
	result := make(chan error, 1)
	var p played
	var mined func() error
	if forks != nil {
		mined = func() error {
			if forks.IntN(20) != 0 {
				return nil
			}
			orphaned, resent, err := w.fork(ctx, 1+forks.IntN(maxForkDepth))
			if err != nil {
				return fmt.Errorf("fork: %w", err)
			}
			p.forks, p.orphaned, p.resent = p.forks+1, p.orphaned+orphaned, p.resent+resent
			return nil
		}
	}
	go func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				result <- nil
				return
			default:
			}
			start := time.Now()
			if err := w.flow(ctx, i, mined); err != nil {
				result <- fmt.Errorf("flow %d, at %s: %w", i,
					time.Now().Format(time.TimeOnly), err)
				close(fail)
				return
			}
			p.flows++
			time.Sleep(every - time.Since(start)) // a steady flow, not a flood
		}
	}()
	return func() (played, error) {
		close(done)
		err := <-result
		return p, err
	}, fail
}

// waitPublished waits, at most limit, until the stream's tip is the chain's last
// confirmed block.
func (w *world) waitPublished(ctx context.Context, limit time.Duration) {
	rdb := redis.NewClient(&redis.Options{Addr: strings.TrimPrefix(w.rds.url(), "redis://"),
		MaxRetries: -1})
	defer rdb.Close()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); {
		head, err := w.ec.BlockNumber(ctx)
		tip, _ := rdb.HGet(ctx, prefix+":{dev}:tip", "number").Uint64()
		if err == nil && tip+w.confirmations >= head {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fork sets the node's head depth blocks back (debug_setHead; not below the first block
// of the soak or the finalized block), which drops the blocks above it and their
// transactions, and sends those transactions again, in their order, each mined before the
// next is sent: the same transactions in blocks of another hash. It returns the blocks
// orphaned and the transactions sent again.
func (w *world) fork(ctx context.Context, depth int) (int, int, error) {
	// Mostly orphan what flowwatch saw: wait a little for its poller to publish up to the
	// last confirmed block (when none runs, or Redis is down, the wait ends by its deadline).
	w.waitPublished(ctx, time.Second)
	head, err := w.ec.BlockNumber(ctx)
	if err != nil {
		return 0, 0, err
	}
	// Not below the finalized block either (every 32nd on the dev chain), as on a real
	// chain; geth logs an error for each head set below it, and one run whose heads were
	// stopped sealing for good.
	final, err := w.ec.HeaderByNumber(ctx, big.NewInt(int64(rpc.FinalizedBlockNumber)))
	if err != nil {
		return 0, 0, fmt.Errorf("finalized block: %w", err)
	}
	to := max(w.startBlock, final.Number.Uint64(), w.floor, head-min(head, uint64(depth)))
	if to >= head {
		return 0, 0, nil
	}
	if err := w.ec.Client().CallContext(ctx, nil, "debug_setHead",
		hexutil.Uint64(to)); err != nil {
		return 0, 0, fmt.Errorf("set head to %d: %w", to, err)
	}
	// The orphaned are the last sent, mined above to: each was mined before the next was
	// sent. (Receipts looked up right after the head is set misled one run, which sent
	// again a transaction still mined: the node refused it, nonce too low.) One the node
	// says it has, or has mined, is waited for as the others.
	first := len(w.sent)
	for first > 0 && w.sent[first-1].block > to {
		first--
	}
	for i := first; i < len(w.sent); i++ {
		tx := w.sent[i].tx
		serr := w.submit(ctx, tx)
		if serr != nil && !strings.Contains(serr.Error(), "nonce too low") &&
			!strings.Contains(serr.Error(), "already known") {
			return 0, 0, fmt.Errorf("send %s again: %w", tx.Hash(), serr)
		}
		b, err := w.wait(ctx, tx.Hash())
		if err != nil {
			sent := "accepted"
			if serr != nil {
				sent = serr.Error()
			}
			return 0, 0, fmt.Errorf("%w; sent again after the head was set to %d: %s", err, to,
				sent)
		}
		w.sent[i].block = b
	}
	return int(head - to), len(w.sent) - first, nil
}

// flow plays flow i (see play), calling mined, when not nil, after each of its
// transactions is mined.
func (w *world) flow(ctx context.Context, i int, mined func() error) error {
	fresh := newAccount(fmt.Sprintf("soak/fresh/%d", i))
	h, err := w.send(ctx, w.watched, fresh.addr, 1e18)
	if err != nil {
		return err
	}
	if _, err := w.wait(ctx, h); err != nil {
		return err
	}
	if mined != nil {
		if err := mined(); err != nil {
			return err
		}
	}
	// Then a customer's deposit at an address of the exchange's, swept to the hot wallet
	// (all but the 0.01 ETH the sweep may cost: an inferred deposit address), which the
	// watched wallet then pays: the third alert, raised only by a worker that remembers
	// the deposit across the kills (read back from the stream after a restart).
	dep := newAccount(fmt.Sprintf("soak/deposit/%d", i))
	var hs []common.Hash
	for _, p := range []struct {
		from *account
		to   common.Address
		wei  int64
	}{{fresh, w.exchange, 1e17}, {fresh, w.mixer, 2e17}, {w.clean, w.exchange, 5e16},
		{w.clean, dep.addr, 3e17}, {dep, w.exchange, 29e16}, {w.watched, dep.addr, 1e17}} {
		if p.from == w.watched { // no fork goes below the sweep now (see floor)
			w.floor = w.blockOf(hs[4])
		}
		if h, err = w.send(ctx, p.from, p.to, p.wei); err != nil {
			return err
		}
		if _, err := w.wait(ctx, h); err != nil { // each mined before the next is sent
			return err
		}
		hs = append(hs, h)
		if mined != nil {
			if err := mined(); err != nil {
				return err
			}
		}
	}
	w.flows = append(w.flows, flowTxs{toExchange: hs[0], toMixer: hs[1], toDeposit: hs[5],
		sweep: hs[4]})
	return nil
}

// blockOf is the block that mined h, a transaction sent, as the last wait or fork found.
func (w *world) blockOf(h common.Hash) uint64 {
	for i := len(w.sent) - 1; i >= 0; i-- {
		if w.sent[i].tx.Hash() == h {
			return w.sent[i].block
		}
	}
	return 0
}

// result is what settle found.
type result struct {
	head, published             uint64
	movements, missing, doubled int
	confirmed                   int // alerts confirmed as the chain says
	tally
	audit streamaudit.Result
}

// confirm makes the last blocks confirmed: with confirmations, it sends that many payments
// of the clean wallet to itself, each mined in a block of its own.
func (w *world) confirm(ctx context.Context) error {
	for range w.confirmations {
		h, err := w.send(ctx, w.clean, w.clean.addr, 1)
		if err != nil {
			return err
		}
		if _, err := w.wait(ctx, h); err != nil {
			return err
		}
	}
	return nil
}

// settle waits until the stream's cursor is at the last confirmed block, every entry is
// processed and the alerts are as the chain says (see check); then checks every movement
// of the chain is in the stream once.
func (w *world) settle(ctx context.Context, limit time.Duration) (result, error) {
	rdb := redis.NewClient(&redis.Options{Addr: strings.TrimPrefix(w.rds.url(), "redis://")})
	defer rdb.Close()
	want, err := w.expected(ctx)
	if err != nil {
		return result{}, err
	}
	var head, published uint64
	told := time.Now()
	for deadline := time.Now().Add(limit); ; {
		// Nothing is sent any more, but the node may still seal an empty block.
		if head, err = w.ec.BlockNumber(ctx); err != nil {
			return result{}, err
		}
		published = head - w.confirmations
		settled, state, err := streamaudit.Settled(ctx, rdb, prefix, "dev", published)
		got, checked := w.check(want)
		if err == nil && settled && checked == nil {
			break
		}
		if time.Since(told) > 30*time.Second {
			fmt.Printf("settling: %s (%v); %d of %d alerts as they should be (%v)\n", state,
				err, got, len(want), checked)
			told = time.Now()
		}
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("not settled in %s: %s (%v), %d of %d alerts as "+
				"they should be: %v", limit, state, err, got, len(want), checked)
		}
		time.Sleep(50 * time.Millisecond)
	}
	src, err := ethereum.Dial(ctx, w.node.url, ethereum.Options{Chain: "dev",
		Traces: ethereum.TracesOff})
	if err != nil {
		return result{}, err
	}
	defer src.Close()
	a, err := streamaudit.Audit(ctx, rdb, prefix, "dev", src, w.startBlock, published)
	if err != nil {
		return result{}, err
	}
	return result{head: head, published: published, movements: a.Chain,
		missing: len(a.Missing), doubled: len(a.Doubled), confirmed: len(want),
		tally: w.recv.counts(), audit: a}, nil
}
