package main

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"math/big"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/redis/go-redis/v9"

	"github.com/flowwatch/flowwatch/alerting/webhook"
	"github.com/flowwatch/flowwatch/chains/ethereum"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/internal/streamaudit"
)

const killRounds = 20

// deliveries counts, per alert notification (Alert.DedupKey), the times a receiver got it in
// a verified request, and keeps the idempotency keys it came under; alerts gathers the
// notifications, per alert and block.
type deliveries struct {
	mu     sync.Mutex
	byKey  map[string]int
	idem   map[string]map[string]bool
	alerts *streamaudit.Alerts
	bad    int
	secret []byte
}

func newDeliveries(secret string) *deliveries {
	return &deliveries{byKey: map[string]int{}, idem: map[string]map[string]bool{},
		alerts: streamaudit.NewAlerts(), secret: []byte(secret)}
}

func (d *deliveries) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, err := webhook.Receive(r, d.secret, time.Now(), time.Minute)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		d.bad++
		http.Error(w, err.Error(), webhook.ErrorStatus(err))
		return
	}
	for _, a := range p.Alerts {
		k := a.DedupKey()
		if d.byKey[k]++; d.byKey[k] == 1 {
			d.idem[k] = map[string]bool{}
		}
		d.idem[k][r.Header.Get(webhook.HeaderIdempotency)] = true
		d.alerts.Add(a)
	}
}

func (d *deliveries) snapshot() (map[string]int, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.byKey), d.bad
}

// atLeast is nil once n distinct notifications came.
func (d *deliveries) atLeast(n int) func() error {
	return func() error {
		if got, _ := d.snapshot(); len(got) < n {
			return fmt.Errorf("%d of %d notifications", len(got), n)
		}
		return nil
	}
}

// multiKey returns how many notifications came under more than one idempotency key.
func (d *deliveries) multiKey() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	multi := 0
	for _, keys := range d.idem {
		if len(keys) > 1 {
			multi++
		}
	}
	return multi
}

// TestKillRestart starts `flowwatch run` (this test binary as the command) on the simulated
// chain with real Redis, and kills it with SIGKILL at random moments, 20 times, while
// laundering flows are played (see traffic: the payments to deposit addresses alert only
// if the workers started again remember the deposits, read back from the stream, or read
// the registered ones before judging); then
// lets it settle. Every movement of the chain must be in the stream exactly once, and
// every expected alert must reach the webhook receiver under exactly one idempotency key.
func TestKillRestart(t *testing.T) {
	w := newLaunderWorld(t, launderOptions{lease: 300 * time.Millisecond})
	stopSending := w.traffic(t, nil)
	leftPending := w.killRounds(t, mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 7)))
	wantAlerts := stopSending()

	// Settle: one last process runs until everything is published, processed and
	// delivered, then stops gracefully. It is signalled only once it runs (its log says so).
	cmd, _ := startRun(t, w.cfg, "running")
	head, res := w.settle(t, cmd, false, w.recv.atLeast(wantAlerts))
	repeats := w.checkDeliveries(t, wantAlerts)
	t.Logf("%d kills, each after publishing (%d leaving entries pending); %d movements "+
		"up to block %d, each once in the stream; %d alerts, each delivered in one "+
		"notification (%d payments to deposit addresses, %d of them registered); %d "+
		"repeated deliveries (kill between a 2xx and the queue's mark)", killRounds,
		leftPending, res.Published, head, wantAlerts, w.paidDeposits(), w.paidRegistered(),
		repeats)
}

// killRounds starts `flowwatch run` and kills it (SIGKILL) killRounds times, each once the
// process has published something, at a random moment (from rng) after. It returns how
// many kills left stream entries pending.
func (w *launderWorld) killRounds(t *testing.T, rng *mrand.Rand) int {
	t.Helper()
	ctx := context.Background()
	stream := w.prefix + ":{dev}:movements"
	tipNow := func() string { return w.rdb.HGet(ctx, w.prefix+":{dev}:tip", "number").Val() }
	leftPending := 0
	for range killRounds {
		before := tipNow()
		w.starts.Add(1) // before it starts: it reads every registration made until now
		cmd, _ := startRun(t, w.cfg, "running")
		// Kill in the middle of work: once this process has published something, at a
		// random moment of what follows. SIGKILL gives it no chance to clean up.
		deadline := time.Now().Add(60 * time.Second)
		for tipNow() == before {
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatalf("a started process published nothing in 60s (tip %s)", before)
			}
			time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
		}
		time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond) // the random kill point
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if p, err := w.rdb.XPending(ctx, stream, "rules").Result(); err == nil && p.Count > 0 {
			leftPending++
		}
	}
	return leftPending
}

// launderWorld is a simulated chain, Redis, a webhook receiver and a flowwatch config
// (alerts to the receiver) for subprocess tests, with laundering traffic to play.
type launderWorld struct {
	chain           *devnet.Chain
	rdb             redis.UniversalClient
	prefix, cfg     string
	recv            *deliveries
	exchange, mixer common.Address
	opts            launderOptions
	flows           []flowTxs // the flows traffic played, once it stopped
	// The deposit flows traffic played, and the block below which no fork may go (see
	// depositRound): traffic's goroutine's until it stops.
	deposits []depositTxs
	floor    uint64
	// The registered-deposit flows traffic played (registeredRound): its goroutine's until
	// it stops; and how many processes killRounds started.
	registered []registeredTxs
	starts     atomic.Int64
}

// launderOptions configure a launderWorld.
type launderOptions struct {
	lease         time.Duration // the poller lease
	confirmations uint64        // the chain's; more than 0: early warnings too
	// models are taint models besides poison, each with a rule to the exchange of its own:
	// to-exchange-<model>.
	models []string
}

// What a laundering flow pays: the watched wallet to the fresh one, which pays on to the
// exchange and the mixer, in wei.
const (
	fundWei       = 1e18
	toExchangeWei = 1e17
	toMixerWei    = 2e17
)

// flowTxs are a laundering flow's transactions: the watched wallet's payment to a fresh
// wallet, and the fresh wallet's to the exchange and to the mixer (each an alert).
type flowTxs struct {
	fresh                 common.Address
	fund, exchange, mixer common.Hash
}

func newLaunderWorld(t *testing.T, opts launderOptions) *launderWorld {
	t.Helper()
	rdb, prefix := redistest.New(t)
	chain, err := devnet.Start(devnet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = chain.Close() })
	recv := newDeliveries("kill-test-secret")
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	w := &launderWorld{chain: chain, rdb: rdb, prefix: prefix, recv: recv,
		exchange: common.HexToAddress("0x28C6c06298d514Db089934071355E5743bf21d60"),
		mixer:    common.HexToAddress("0xA160cdAB225685dA1d56aa342Ad8841c3b53f291"),
		opts:     opts}
	dir := t.TempDir()
	lower := func(a common.Address) string { return strings.ToLower(a.Hex()) }
	list := "chain,address,role,category,entity,source,valid_from,valid_to\n" +
		"dev," + lower(chain.Addrs[0]) + ",source,hack,Lazarus Group (test),test,,\n" +
		"dev," + lower(w.exchange) + ",label,exchange,Binance 14,test,,\n" +
		"dev," + lower(w.mixer) + ",label,mixer,Tornado Cash,test,,\n"
	writeFile(t, filepath.Join(dir, "list.csv"), list)
	modelRules := ""
	for _, m := range opts.models {
		modelRules += fmt.Sprintf(`  - name: to-exchange-%[1]s
    destinations: [exchange]
    model: %[1]s
    max_hops: 3
    early_warning: %[2]v
    sinks: [hook]
`, m, opts.confirmations > 0)
	}
	w.cfg = filepath.Join(dir, "flowwatch.yaml")
	writeFile(t, w.cfg, fmt.Sprintf(`redis:
%schains:
  - name: dev
    family: evm
    rpc: [%s]
    confirmations: %d
    start_block: 1
    poll_interval: 20ms
    traces: off
lists:
  - path: list.csv
rules:
  - name: to-exchange
    destinations: [exchange]
    max_hops: 3
    early_warning: %[6]v
    sinks: [hook]
  - name: to-mixer
    severity: critical
    destinations: [mixer]
    max_hops: 3
    early_warning: %[6]v
    sinks: [hook]
%[7]ssinks:
  - name: hook
    type: webhook
    url: %[4]s
    secret: kill-test-secret
alerting:
  group_wait: 0s
  group_interval: 100ms
claim_idle: 200ms
poller_lease: %[5]s
`, redistest.Config(prefix), chain.URL, opts.confirmations, srv.URL, opts.lease,
		opts.confirmations > 0, modelRules))
	return w
}

// traffic plays laundering flows until the returned stop is called, which returns how
// many alerts they should raise; w.flows, w.deposits and w.registered then hold them. Per
// round, the watched wallet pays a fresh wallet, which pays the exchange and the mixer
// (alerts, two hops each: one to the mixer, one to the exchange per rule to it), plus a
// clean payment; then a deposit flow (depositRound: its payment to a deposit address
// alerts once per rule to the exchange, in one hop) and a registered-deposit flow
// (registeredRound: likewise). Between rounds it calls between, when not nil, with the
// rounds played.
func (w *launderWorld) traffic(t *testing.T, between func(int) error) (stop func() int) {
	t.Helper()
	ctx := context.Background()
	var flows []flowTxs
	flow := func(i int) error {
		k := crypto.ToECDSAUnsafe(crypto.Keccak256([]byte(fmt.Sprintf("kill/%d", i))))
		fresh := crypto.PubkeyToAddress(k.PublicKey)
		var hs []common.Hash
		for _, tx := range []devnet.Tx{
			{Key: w.chain.Keys[0], To: &fresh, Value: big.NewInt(fundWei)},
			{Key: k, To: &w.exchange, Value: big.NewInt(toExchangeWei)},
			{Key: k, To: &w.mixer, Value: big.NewInt(toMixerWei)},
			{Key: w.chain.Keys[1], To: &w.exchange, Value: big.NewInt(5e16)},
		} {
			r, err := w.chain.Send(ctx, tx)
			if err != nil || r.Status != 1 {
				return fmt.Errorf("flow %d: %v", i, err)
			}
			hs = append(hs, r.TxHash)
		}
		flows = append(flows, flowTxs{fresh: fresh, fund: hs[0], exchange: hs[1],
			mixer: hs[2]})
		return nil
	}
	stopSending := make(chan struct{})
	sent := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stopSending:
				sent <- nil
				return
			default:
			}
			err := flow(i)
			if err == nil {
				err = w.depositRound(ctx, i)
			}
			if err == nil {
				err = w.registeredRound(ctx, i)
			}
			if err == nil && between != nil {
				err = between(i + 1)
			}
			if err != nil {
				sent <- err
				return
			}
		}
	}()
	return func() int {
		close(stopSending)
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
		w.flows = flows
		perRule := 1 + len(w.opts.models) // the rules to the exchange
		return (1+perRule)*len(flows) + perRule*w.paidDeposits()
	}
}

// checkDeliveries checks that the receiver got wantAlerts distinct notifications, all
// verified, and returns how many were delivered more than once.
func (w *launderWorld) checkDeliveries(t *testing.T, wantAlerts int) int {
	t.Helper()
	got, bad := w.recv.snapshot()
	repeats := 0
	for _, n := range got {
		repeats += n - 1
	}
	if len(got) != wantAlerts || bad != 0 {
		t.Fatalf("%d distinct notifications (%d failed verification), want %d", len(got), bad,
			wantAlerts)
	}
	return repeats
}

// settle waits, up to 90 s, until the process cmd (the last one running) has published the
// dev chain up to its last confirmed block, the rules workers have processed everything
// and done is nil (the receiver has what it should); stops cmd gracefully; and checks that
// every movement of the chain up to that block is in the stream exactly once, and none in
// an orphaned block. With reorgs, some must have been published as removed; without, none.
// It returns that block and the audit.
func (w *launderWorld) settle(t *testing.T, cmd *exec.Cmd, reorgs bool,
	done func() error) (uint64, streamaudit.Result) {
	t.Helper()
	ctx := context.Background()
	src, err := ethereum.Dial(ctx, w.chain.URL, ethereum.Options{Chain: "dev",
		Traces: ethereum.TracesOff})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	head, err := src.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := head - w.opts.confirmations
	deadline := time.Now().Add(90 * time.Second)
	for {
		settled, state, err := streamaudit.Settled(ctx, w.rdb, w.prefix, "dev", last)
		recv := done()
		if err == nil && settled && recv == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled: %s (%v); receiver: %v%s", state, err, recv,
				w.explainDeposits(ctx))
		}
		time.Sleep(10 * time.Millisecond) // polling a condition with a deadline
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	// Every movement of the chain is in the stream exactly once.
	res, err := streamaudit.Audit(ctx, w.rdb, w.prefix, "dev", src, 1, last)
	if err != nil {
		t.Fatal(err)
	}
	if !reorgs && len(res.Removed) > 0 {
		t.Fatalf("removed movements without a reorg: %v", res.Removed)
	}
	if reorgs && len(res.Removed) == 0 {
		t.Fatal("no movement published as removed: no reorg reached the pipeline")
	}
	if len(res.Missing) > 0 || len(res.Doubled) > 0 || len(res.Stale) > 0 {
		t.Errorf("movements missing from the stream: %v; in it more than once: %v; in "+
			"orphaned blocks: %v", res.Missing, res.Doubled, res.Stale)
	}
	if res.Published != res.Chain {
		t.Errorf("stream has %d movements, the chain %d", res.Published, res.Chain)
	}
	return last, res
}

// startRun runs `flowwatch run --config cfg` (this test binary as the command) and returns
// once its log has a line with each message of msgs, with the first such line of each
// (JSON), by message. It fails the test, showing the log's last lines, if the process exits
// first or after a minute without; a test that fails later shows them too.
func startRun(t *testing.T, cfg string, msgs ...string) (*exec.Cmd, map[string]string) {
	t.Helper()
	return startCommand(t, "run", cfg, msgs...)
}

// startCommand is startRun for `flowwatch <command> --config cfg`.
func startCommand(t *testing.T, command, cfg string, msgs ...string) (*exec.Cmd,
	map[string]string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], command, "--config", cfg)
	cmd.Env = append(os.Environ(), "FLOWWATCH_RUN_MAIN=1")
	logs, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var tail []string // the log's last lines
	shown := false    // tail was shown
	lines := map[string]string{}
	ready, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(logs)
		for sc.Scan() { // drains the pipe until the process exits
			mu.Lock()
			if tail = append(tail, sc.Text()); len(tail) > 50 {
				tail = tail[1:]
			}
			for _, msg := range msgs {
				if _, ok := lines[msg]; !ok && strings.Contains(sc.Text(), `"msg":"`+msg+`"`) {
					if lines[msg] = sc.Text(); len(lines) == len(msgs) {
						close(ready)
					}
				}
			}
			mu.Unlock()
		}
	}()
	fail := func(why string) {
		t.Helper()
		_ = cmd.Process.Kill()
		mu.Lock()
		defer mu.Unlock()
		shown = true
		t.Fatalf("flowwatch %s %s before it logged %q; its log ends:\n%s", command, why,
			msgs, strings.Join(tail, "\n"))
	}
	t.Cleanup(func() { // a test that failed later shows what the process logged last
		mu.Lock()
		defer mu.Unlock()
		if t.Failed() && !shown {
			t.Logf("flowwatch %s (pid %d) logged last:\n%s", command, cmd.Process.Pid,
				strings.Join(tail, "\n"))
		}
	})
	select {
	case <-ready:
	case <-exited:
		select {
		case <-ready: // the last lines logged came with its exit
		default:
			fail("exited")
		}
	case <-time.After(60 * time.Second):
		fail("ran a minute")
	}
	mu.Lock()
	defer mu.Unlock()
	return cmd, maps.Clone(lines)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
