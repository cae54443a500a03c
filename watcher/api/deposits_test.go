package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	btcaddr "github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcutil/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"github.com/ethereum/go-ethereum/common"
	"go.uber.org/zap/zaptest"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains/bitcoin"
	"github.com/flowwatch/flowwatch/chains/bitcoin/simnet"
	"github.com/flowwatch/flowwatch/chains/ethereum"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/rules"
	"github.com/flowwatch/flowwatch/watcher/taint"
	"github.com/flowwatch/flowwatch/watcher/watchlist"
)

func depositReport(t *testing.T, body []byte) DepositReport {
	t.Helper()
	var r DepositReport
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func hexLower(a common.Address) string { return strings.ToLower(a.Hex()) }

// TestDepositEVM screens deposits made on go-ethereum's simulated chain, looked up over
// JSON-RPC: one straight from a sanctioned address, one from a wallet that Lazarus funds
// reached (poison and haircut taint as the workers would have written them), a clean
// one, one still pending; and every way a request can be wrong.
func TestDepositEVM(t *testing.T) {
	ctx := context.Background()
	c, err := devnet.Start(devnet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	src, err := ethereum.Dial(ctx, c.URL, ethereum.Options{Chain: "ethereum",
		Traces: ethereum.TracesOff, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	journal := &alerting.MemoryJournal{}
	w := newWorldWith(t, map[string]Node{"ethereum": src}, alerting.NewTxIndex(journal))

	listed, fresh, dep := hexLower(c.Addrs[0]), hexLower(c.Addrs[1]), hexLower(c.Addrs[2])
	w.lists.Add(watchlist.Entry{Chain: "ethereum", Address: listed,
		Role: watchlist.RoleSource, Category: "sanctioned", Entity: "Lazarus Group (devnet)",
		Origin: watchlist.Origin{List: "OFAC SDN"}})
	lz := rules.Source{Entity: "Lazarus Group (devnet)", Category: "sanctioned",
		List: "OFAC SDN"}
	path := []rules.Hop{{Chain: "ethereum", Tx: "0xf0", Position: "tx", From: listed,
		To: fresh, Asset: "native", Amount: big.NewInt(1e18), Time: now}}
	if err := w.store.ApplyAll(ctx, "ethereum", taint.Fence{}, []taint.Effect{{Key: "f",
		Taints: []rules.NewTaint{
			{Address: fresh, Taint: rules.Taint{Root: listed, Source: lz, Path: path}},
			{Address: rules.ModelKey(rules.ModelHaircut, fresh), Taint: rules.Taint{
				Root: listed, Source: lz, Path: path, Holdings: []rules.Holding{{
					Asset: "native", Balance: big.NewInt(4e18), Tainted: big.NewInt(1e18)}}}},
		}}}); err != nil {
		t.Fatal(err)
	}
	if err := w.reg.Put(ctx, deposit.Registration{Chain: "ethereum", Address: dep,
		Customer: "cust-7", At: now}); err != nil {
		t.Fatal(err)
	}
	blocks := map[string]uint64{}
	send := func(i int, wei int64) string {
		t.Helper()
		r, err := c.Transfer(ctx, c.Keys[i], c.Addrs[2], big.NewInt(wei))
		if err != nil || r.Status != 1 {
			t.Fatalf("transfer: %v", err)
		}
		h := strings.ToLower(r.TxHash.Hex())
		blocks[h] = r.BlockNumber.Uint64()
		return h
	}
	direct, onward, clean := send(0, 1e18), send(1, 2e18), send(3, 5e17)
	if _, err := journal.Append(ctx, alerting.Alert{ID: "al1", Rule: "tainted-deposit",
		Severity: "critical", State: alerting.StateConfirmed, Chain: "ethereum", Tx: onward,
		Position: "tx", Destination: alerting.Party{Address: dep, Entity: "cust-7"},
		Time: now}, alerting.Alert{ID: "al2", Rule: "other", Chain: "ethereum", Tx: onward,
		State: alerting.StateConfirmed, Destination: alerting.Party{Address: listed}}); err != nil {
		t.Fatal(err)
	}
	ph, err := c.Submit(ctx, devnet.Tx{Key: c.Keys[1], To: &c.Addrs[2],
		Value: big.NewInt(3e18)})
	if err != nil {
		t.Fatal(err)
	}
	pending := strings.ToLower(ph.Hex())
	head, err := src.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	body := func(tx, addr string) string {
		return `{"chain":"ethereum","tx":"` + tx + `","address":"` + addr + `"}`
	}

	tests := []struct {
		name       string
		tx         string
		wantStatus string
		wantRisk   string
		wantReason string // in the first reason; "" for none
		check      func(t *testing.T, r DepositReport)
	}{
		{"straight from a sanctioned address", direct, StatusConfirmed, RiskSevere,
			"severe: sent by " + listed + ", listed as sanctioned (Lazarus Group (devnet)",
			func(t *testing.T, r DepositReport) {
				if len(r.Exposure) != 0 || len(r.Alerts) != 0 {
					t.Errorf("exposure %+v alerts %+v", r.Exposure, r.Alerts)
				}
			}},
		{"one hop on from Lazarus funds", onward, StatusConfirmed, RiskSevere,
			"severe: sent by " + fresh + ", which received 1000000000000000000 of Lazarus",
			func(t *testing.T, r DepositReport) {
				want := map[string]string{"poison": "2000000000000000000",
					"haircut": "500000000000000000"} // 2 ETH × 1/4
				if len(r.Exposure) != 2 {
					t.Fatalf("exposure %+v", r.Exposure)
				}
				for _, e := range r.Exposure {
					if e.TaintedAmount != want[e.Model] || e.Hops != 2 ||
						strings.Join(e.Evidence, ",") != "0xf0,"+onward || e.Source != listed {
						t.Errorf("%s exposure %+v", e.Model, e)
					}
				}
				if len(r.Alerts) != 1 || r.Alerts[0].Rule != "tainted-deposit" ||
					r.Alerts[0].State != alerting.StateConfirmed {
					t.Errorf("alerts %+v", r.Alerts)
				}
				if len(r.Senders) != 1 || r.Senders[0].Address != fresh {
					t.Errorf("senders %+v", r.Senders)
				}
			}},
		{"clean", clean, StatusConfirmed, RiskNone, "",
			func(t *testing.T, r DepositReport) {
				if len(r.Exposure) != 0 || len(r.Reasons) != 0 || len(r.Senders) != 1 {
					t.Errorf("report %+v", r)
				}
			}},
		{"pending, from the tainted wallet", pending, StatusPending, RiskSevere,
			"severe: sent by " + fresh, func(t *testing.T, r DepositReport) {
				if !r.Partial || r.Block != nil || r.Received[0].Amount != "3000000000000000000" {
					t.Errorf("report %+v", r)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, got, _ := w.do(t, readKey, "POST", "/v1/deposits", body(tt.tx, dep))
			if code != http.StatusOK {
				t.Fatalf("%d %s", code, got)
			}
			r := depositReport(t, got)
			wantConf := uint64(0)
			if b, ok := blocks[tt.tx]; ok {
				wantConf = head - b + 1
			}
			if r.Status != tt.wantStatus || r.Confirmations != wantConf || r.Risk != tt.wantRisk {
				t.Fatalf("status %s, %d confirmations, risk %s; want %s, %d, %s\n%s", r.Status,
					r.Confirmations, r.Risk, tt.wantStatus, wantConf, tt.wantRisk, got)
			}
			if tt.wantReason != "" && (len(r.Reasons) == 0 ||
				!strings.HasPrefix(r.Reasons[0], tt.wantReason)) {
				t.Fatalf("reasons %q, want the first to start %q", r.Reasons, tt.wantReason)
			}
			if r.Registered == nil || r.Registered.Customer != "cust-7" || r.Tx != tt.tx ||
				r.Address != dep || len(r.Received) != 1 || r.Received[0].Position != "tx" {
				t.Fatalf("report %s", got)
			}
			tt.check(t, r)
		})
	}

	unknown := strings.ToLower(common.Hash{7}.Hex())
	errs := []struct {
		name, key, body string
		wantCode        int
		wantErr         string
	}{
		{"no key", "", body(direct, dep), 401, "missing bearer token"},
		{"unknown transaction", readKey, body(unknown, dep), 404, "not known to the ethereum"},
		{"pays nothing to the address", readKey, body(direct, listed), 422,
			"pays nothing to " + listed},
		{"pending pays nothing known", readKey, body(pending, listed), 422,
			"tokens and internal transfers show once it is mined"},
		{"malformed hash", readKey, body("0x12", dep), 400, "tx: want a 32-byte"},
		{"malformed address", readKey, body(direct, "0x12"), 400, "address: "},
		{"unknown chain", readKey, `{"chain":"dogecoin","tx":"` + direct + `","address":"` +
			dep + `"}`, 400, `chain: unknown chain "dogecoin"`},
		{"missing tx", readKey, `{"chain":"ethereum","address":"` + dep + `"}`, 400,
			"tx: missing"},
		{"unknown field", readKey, `{"chain":"ethereum","tx":"` + direct + `","address":"` +
			dep + `","amount":1}`, 400, `unknown field "amount"`},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			code, got, _ := w.do(t, tt.key, "POST", "/v1/deposits", tt.body)
			var e ErrorBody
			_ = json.Unmarshal(got, &e)
			if code != tt.wantCode || !strings.Contains(e.Error, tt.wantErr) {
				t.Fatalf("%d %s, want %d with %q", code, got, tt.wantCode, tt.wantErr)
			}
		})
	}

	t.Run("no node", func(t *testing.T) {
		w := newWorld(t)
		code, got, _ := w.do(t, readKey, "POST", "/v1/deposits", body(direct, dep))
		if code != http.StatusNotImplemented || !strings.Contains(string(got), "no chain nodes") {
			t.Fatalf("%d %s", code, got)
		}
	})
}

// TestDepositBitcoin screens deposits on a real btcd in simnet: one from a sanctioned
// address, one from an address whose coins carry Lazarus funds (as the workers would have
// tainted its output), first pending, judged from the outputs it spends, then mined and
// judged from its own output's taint; and screens the deposit address, whose record the
// workers keep of the latest tainted output paid to it.
func TestDepositBitcoin(t *testing.T) {
	ctx := context.Background()
	node := simnet.Start(t)
	src, err := bitcoin.Dial(ctx, node.URL(), bitcoin.Options{Chain: "btcsim",
		Network: "simnet", Certificates: node.Certificates(), Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	w := newWorldWith(t, map[string]Node{"btcsim": src}, nil)
	key := func() simnet.Key {
		k, err := simnet.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	laz, fresh, dep := key(), key(), key()
	lazA, freshA, depA := laz.Addr.EncodeAddress(), fresh.Addr.EncodeAddress(),
		dep.Addr.EncodeAddress()
	w.lists.Add(watchlist.Entry{Chain: "btcsim", Address: lazA, Role: watchlist.RoleSource,
		Category: "sanctioned", Entity: "Lazarus Group (simnet)",
		Origin: watchlist.Origin{List: "OFAC SDN"}})
	pay := func(to btcaddr.Address, sat int64) *chainhash.Hash {
		t.Helper()
		script, err := txscript.PayToAddrScript(to)
		if err != nil {
			t.Fatal(err)
		}
		h, err := node.SendOutputsWithoutChange([]*wire.TxOut{wire.NewTxOut(sat, script)},
			btcutil.Amount(10))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	mine := func() {
		t.Helper()
		if _, err := node.Client.Generate(1); err != nil {
			t.Fatal(err)
		}
	}
	lazFund, freshFund := pay(laz.Addr, 1e8), pay(fresh.Addr, 5e7)
	mine()
	lz := rules.Source{Entity: "Lazarus Group (simnet)", Category: "sanctioned",
		List: "OFAC SDN"}
	funded := rules.Hop{Chain: "btcsim", Tx: freshFund.String(), Position: "vout:0",
		From: lazA, To: freshA, Asset: "native", Amount: big.NewInt(5e7), Time: now}
	op := rules.OutpointKey(freshFund.String(), 0)
	tainted := rules.Taint{Root: lazA, Source: lz, Path: []rules.Hop{funded}}
	haircut := tainted
	haircut.Amount = big.NewInt(25e6) // half of the 0.5 BTC
	apply := func(key string, taints ...rules.NewTaint) {
		t.Helper()
		if err := w.store.ApplyAll(ctx, "btcsim", taint.Fence{}, []taint.Effect{{Key: key,
			Taints: taints}}); err != nil {
			t.Fatal(err)
		}
	}
	apply("fund", rules.NewTaint{Address: op, Taint: tainted},
		rules.NewTaint{Address: rules.ModelKey(rules.ModelHaircut, op), Taint: haircut})

	direct, err := node.Spend(laz, lazFund, 0, 1e8, simnet.Pay{To: dep.Addr, Amount: 9e7})
	if err != nil {
		t.Fatal(err)
	}
	onward, err := node.Spend(fresh, freshFund, 0, 5e7, simnet.Pay{To: dep.Addr,
		Amount: 4e7}, simnet.Pay{To: fresh.Addr, Amount: 9e6})
	if err != nil {
		t.Fatal(err)
	}
	screen := func(tx *chainhash.Hash) DepositReport {
		t.Helper()
		code, got, _ := w.do(t, readKey, "POST", "/v1/deposits", `{"chain":"btcsim",`+
			`"tx":"`+tx.String()+`","address":"`+depA+`"}`)
		if code != http.StatusOK {
			t.Fatalf("%d %s", code, got)
		}
		return depositReport(t, got)
	}
	exposures := func(r DepositReport) string {
		var out []string
		for _, e := range r.Exposure {
			out = append(out, fmt.Sprintf("%s %d hops %s via %s", e.Model, e.Hops,
				e.TaintedAmount, strings.Join(e.Evidence, ",")))
		}
		return strings.Join(out, "; ")
	}
	path := freshFund.String() + "," + onward.String()

	r := screen(onward) // pending: judged by the outputs it spends
	want := "poison 2 hops 40000000 via " + path + "; haircut 2 hops 20000000 via " + path
	if r.Status != StatusPending || r.Confirmations != 0 || r.Partial || r.Risk != RiskSevere ||
		exposures(r) != want || r.Received[0].Position != "vout:0" {
		t.Fatalf("pending: %+v\nexposure %s\nwant %s", r, exposures(r), want)
	}
	mine()
	// The workers judged it: its output to the deposit address is tainted (poison).
	onwardHop := rules.Hop{Chain: "btcsim", Tx: onward.String(), Position: "vout:0",
		From: freshA, To: depA, Asset: "native", Amount: big.NewInt(4e7), Time: now}
	own := rules.Taint{Root: lazA, Source: lz, Path: []rules.Hop{funded, onwardHop}}
	apply("onward", rules.NewTaint{Address: rules.OutpointKey(onward.String(), 0),
		Taint: own}, rules.NewTaint{Address: rules.ReceivedKey(rules.ModelPoison, depA),
		Taint: own})
	r = screen(onward)
	if r.Status != StatusConfirmed || r.Confirmations != 1 || r.Risk != RiskSevere ||
		exposures(r) != want || !strings.Contains(strings.Join(r.Reasons, "\n"),
		"output vout:0 carries 40000000 of Lazarus") {
		t.Fatalf("mined: %+v\nexposure %s", r, exposures(r))
	}
	if r := screen(direct); r.Risk != RiskSevere || !strings.HasPrefix(r.Reasons[0],
		"severe: sent by "+lazA+", listed as sanctioned") || r.Confirmations != 1 {
		t.Fatalf("direct: %+v", r)
	}

	code, got, _ := w.do(t, readKey, "GET", "/v1/addresses/btcsim/"+depA, "")
	if a := report(t, got); code != 200 || a.Risk != RiskSevere || len(a.Exposure) != 1 ||
		a.Exposure[0].Hops != 2 || a.Exposure[0].TaintedAmount != "40000000" {
		t.Fatalf("screen the deposit address: %d %s", code, got)
	}
}

// countingStore counts the store reads that screening makes.
type countingStore struct {
	TaintReader
	reads int
}

func (c *countingStore) Taints(ctx context.Context, chain string, keys ...string) (
	map[string]rules.Taint, error) {
	c.reads++
	return c.TaintReader.Taints(ctx, chain, keys...)
}

// TestScreenWithIndex: with the taint index (over the same Redis), every report is what
// the store alone gives, the store is asked only about addresses the index holds, and a
// taint written later is seen.
func TestScreenWithIndex(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	counted := &countingStore{TaintReader: w.store}
	indexed, err := NewScreener(w.screen.chains, w.lists, counted, w.reg, RiskOptions{},
		func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	idx := taint.NewIndex(w.store, []string{"ethereum"}, taint.IndexOptions{
		Block: 20 * time.Millisecond, Logger: zaptest.NewLogger(t)})
	indexed.SetIndex(idx)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- idx.Run(rctx) }()
	defer func() { cancel(); <-done }()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(time.Millisecond) // polling a condition with a deadline
		}
	}
	waitFor("the index", func() bool { _, known := idx.Holds("ethereum", twoHops); return known })
	all := []string{lazarus, tornado, twoHops, fourHops, diluted, payer, clean, depositTo}
	for _, a := range all {
		want, err := w.screen.Screen(ctx, "ethereum", a)
		if err != nil {
			t.Fatal(err)
		}
		counted.reads = 0
		got, err := indexed.Screen(ctx, "ethereum", a)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s with the index:\n%+v\nwithout:\n%+v", a, got[0], want[0])
		}
		if holds, _ := idx.Holds("ethereum", a); holds != (counted.reads == 1) {
			t.Fatalf("%s: index holds %v, store read %d times", a, holds, counted.reads)
		}
	}
	src := rules.Source{Entity: "Lazarus Group", Category: "sanctioned", List: "OFAC SDN"}
	if err := w.store.Apply(ctx, "ethereum", "later", []rules.NewTaint{{Address: clean,
		Taint: rules.Taint{Root: lazarus, Source: src, Path: []rules.Hop{{Tx: "0xc1",
			From: lazarus, To: clean, Asset: "native", Amount: big.NewInt(5)}}}}},
		nil); err != nil {
		t.Fatal(err)
	}
	waitFor("the later taint", func() bool {
		rs, err := indexed.Screen(ctx, "ethereum", clean)
		return err == nil && rs[0].Risk == RiskSevere
	})
}
