package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/redis/go-redis/v9"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/webhook"
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
}

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
	if err := w.wait(ctx, last); err != nil {
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

// send signs and sends a payment from a to to.
func (w *world) send(ctx context.Context, a *account, to common.Address, wei int64) (
	common.Hash, error) {
	tx, err := types.SignNewTx(a.key, types.LatestSignerForChainID(w.chainID),
		&types.DynamicFeeTx{ChainID: w.chainID, Nonce: a.nonce, GasTipCap: big.NewInt(1e9),
			GasFeeCap: big.NewInt(100e9), Gas: 21_000, To: &to, Value: big.NewInt(wei)})
	if err != nil {
		return common.Hash{}, err
	}
	// geth's pool may judge a transaction by the block before the one just mined (the
	// funds that block brought look missing): send again for a while.
	for deadline := time.Now().Add(10 * time.Second); ; {
		err = w.ec.SendTransaction(ctx, tx)
		if err == nil || time.Now().After(deadline) ||
			!strings.Contains(err.Error(), "insufficient funds") {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		return common.Hash{}, err
	}
	a.nonce++
	return tx.Hash(), nil
}

// wait polls for h's receipt, for at most a minute.
func (w *world) wait(ctx context.Context, h common.Hash) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		if r, err := w.ec.TransactionReceipt(ctx, h); err == nil {
			if r.Status != 1 {
				return fmt.Errorf("transaction %s failed", h)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", h, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// alertsPerFlow is how many alerts a flow raises.
const alertsPerFlow = 3

// play sends a flow every every (at most) until the returned stop is called, which
// returns how many were sent: the watched wallet pays a fresh wallet, which pays the
// exchange and the mixer (two alerts); the clean wallet pays the exchange (none), and a
// deposit address that sweeps what it got to the exchange, which the watched wallet then
// pays (the third alert).
func (w *world) play(ctx context.Context, every time.Duration) (stop func() (int, error)) {
	done := make(chan struct{})
	result := make(chan error, 1)
	flows := 0
	go func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				result <- nil
				return
			default:
			}
			start := time.Now()
			if err := w.flow(ctx, i); err != nil {
				result <- fmt.Errorf("flow %d: %w", i, err)
				return
			}
			flows++
			time.Sleep(every - time.Since(start)) // a steady flow, not a flood
		}
	}()
	return func() (int, error) {
		close(done)
		err := <-result
		return flows, err
	}
}

func (w *world) flow(ctx context.Context, i int) error {
	fresh := newAccount(fmt.Sprintf("soak/fresh/%d", i))
	h, err := w.send(ctx, w.watched, fresh.addr, 1e18)
	if err != nil {
		return err
	}
	if err := w.wait(ctx, h); err != nil {
		return err
	}
	// Then a customer's deposit at an address of the exchange's, swept to the hot wallet
	// (all but the 0.01 ETH the sweep may cost: an inferred deposit address), which the
	// watched wallet then pays: the third alert, raised only by a worker that remembers
	// the deposit across the kills (read back from the stream after a restart).
	dep := newAccount(fmt.Sprintf("soak/deposit/%d", i))
	for _, p := range []struct {
		from *account
		to   common.Address
		wei  int64
	}{{fresh, w.exchange, 1e17}, {fresh, w.mixer, 2e17}, {w.clean, w.exchange, 5e16},
		{w.clean, dep.addr, 3e17}, {dep, w.exchange, 29e16}, {w.watched, dep.addr, 1e17}} {
		if h, err = w.send(ctx, p.from, p.to, p.wei); err != nil {
			return err
		}
		if err := w.wait(ctx, h); err != nil { // each mined before the next is sent
			return err
		}
	}
	return nil
}

// receiver is the webhook endpoint: per alert notification (DedupKey: the alert's id,
// state and block), the idempotency keys it came under and how many times, and the states
// each alert id came in.
type receiver struct {
	srv    *http.Server
	url    string
	mu     sync.Mutex
	byKey  map[string]map[string]int
	states map[string]map[alerting.State]bool
	bad    int
}

func newReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String(), byKey: map[string]map[string]int{},
		states: map[string]map[alerting.State]bool{}}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := webhook.Verify([]byte(secret), req.Header.Get(webhook.HeaderTimestamp),
		req.Header.Get(webhook.HeaderSignature), body, time.Now(), time.Minute); err != nil {
		r.bad++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		r.bad++
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	idem := req.Header.Get(webhook.HeaderIdempotency)
	for _, a := range p.Alerts {
		k := a.DedupKey()
		if r.byKey[k] == nil {
			r.byKey[k] = map[string]int{}
		}
		r.byKey[k][idem]++
		if r.states[a.ID] == nil {
			r.states[a.ID] = map[alerting.State]bool{}
		}
		r.states[a.ID][a.State] = true
	}
}

func (r *receiver) close() { _ = r.srv.Close() }

// tally is what the receiver got.
type tally struct {
	confirmed int // alerts confirmed: the workers'
	// provisional are the scout's early warnings; orphaned, those whose alert was neither
	// confirmed nor retracted; retracted, alerts retracted (no reorg happens here).
	provisional, orphaned, retracted int
	multiKey                         int // notifications under more than one idempotency key
	repeats                          int // deliveries repeated under the same key
}

func (r *receiver) counts() tally {
	r.mu.Lock()
	defer r.mu.Unlock()
	var t tally
	for _, keys := range r.byKey {
		if len(keys) > 1 {
			t.multiKey++
		}
		for _, n := range keys {
			t.repeats += n - 1
		}
	}
	for _, states := range r.states {
		switch {
		case states[alerting.StateConfirmed]:
			t.confirmed++
		case states[alerting.StateProvisional] && !states[alerting.StateRetracted]:
			t.orphaned++
		}
		if states[alerting.StateProvisional] {
			t.provisional++
		}
		if states[alerting.StateRetracted] {
			t.retracted++
		}
	}
	return t
}

// result is what settle found.
type result struct {
	head, published             uint64
	movements, missing, doubled int
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
		if err := w.wait(ctx, h); err != nil {
			return err
		}
	}
	return nil
}

// settle waits until the stream's cursor is at the last confirmed block, every entry is
// processed and want alerts were confirmed; then checks every movement of the chain is in
// the stream once.
func (w *world) settle(ctx context.Context, want int, limit time.Duration) (result, error) {
	rdb := redis.NewClient(&redis.Options{Addr: strings.TrimPrefix(w.rds.url(), "redis://")})
	defer rdb.Close()
	var head, published uint64
	told := time.Now()
	for deadline := time.Now().Add(limit); ; {
		// Nothing is sent any more, but the node may still seal an empty block.
		var err error
		if head, err = w.ec.BlockNumber(ctx); err != nil {
			return result{}, err
		}
		published = head - w.confirmations
		settled, state, err := streamaudit.Settled(ctx, rdb, prefix, "dev", published)
		t := w.recv.counts()
		got := t.confirmed
		if err == nil && settled && got >= want {
			break
		}
		if time.Since(told) > 30*time.Second {
			fmt.Printf("settling: %s (%v); %d of %d alerts confirmed; %d early warnings, "+
				"%d open, %d retracted\n", state, err, got, want, t.provisional, t.orphaned,
				t.retracted)
			told = time.Now()
		}
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("not settled in %s: %s (%v), %d of %d alerts",
				limit, state, err, got, want)
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
		missing: len(a.Missing), doubled: len(a.Doubled), tally: w.recv.counts(),
		audit: a}, nil
}
