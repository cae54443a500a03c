package main

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/webhook"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/internal/streamaudit"
)

// receiver is the webhook endpoint: per alert notification (DedupKey: the alert's id,
// state and block), the idempotency keys it came under and how many times; and the
// notifications per alert and block.
type receiver struct {
	srv    *http.Server
	url    string
	mu     sync.Mutex
	byKey  map[string]map[string]int
	alerts *streamaudit.Alerts
	bad    int
}

func newReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String(), byKey: map[string]map[string]int{},
		alerts: streamaudit.NewAlerts()}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	p, err := webhook.Receive(req, []byte(secret), time.Now(), time.Minute)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.bad++
		http.Error(w, err.Error(), webhook.ErrorStatus(err))
		return
	}
	idem := req.Header.Get(webhook.HeaderIdempotency)
	for _, a := range p.Alerts {
		k := a.DedupKey()
		if r.byKey[k] == nil {
			r.byKey[k] = map[string]int{}
		}
		r.byKey[k][idem]++
		r.alerts.Add(a)
	}
}

func (r *receiver) close() { _ = r.srv.Close() }

// tally is what the receiver got.
type tally struct {
	streamaudit.AlertCounts
	multiKey int // notifications under more than one idempotency key
	repeats  int // deliveries repeated under the same key
	// repeated are the first few notifications delivered more than once under one key
	// (DedupKey), for a look at why.
	repeated []string
	bad      int // requests that failed verification or did not decode
}

func (r *receiver) counts() tally {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := tally{AlertCounts: r.alerts.Counts(), bad: r.bad}
	for k, keys := range r.byKey {
		if len(keys) > 1 {
			t.multiKey++
		}
		for idem, n := range keys {
			t.repeats += n - 1
			if n > 1 && len(t.repeated) < 5 {
				t.repeated = append(t.repeated, fmt.Sprintf("%s ×%d under %s", k, n, idem))
			}
		}
	}
	return t
}

// expected returns the alerts the flows should raise, by id, each with the hash of the
// block that mined its transaction as the chain ends: per flow, the three of flowTxs.
func (w *world) expected(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range w.flows {
		sweep, err := w.receipt(ctx, f.sweep)
		if err != nil {
			return nil, err
		}
		for _, a := range []struct {
			rule string
			tx   common.Hash
		}{{"to-exchange", f.toExchange}, {"to-mixer", f.toMixer},
			{"to-exchange", f.toDeposit}} {
			r, err := w.receipt(ctx, a.tx)
			if err != nil {
				return nil, err
			}
			if a.tx == f.toDeposit {
				if err := inOrder(sweep, r); err != nil {
					return nil, err
				}
			}
			id := alerting.AlertID(a.rule, "dev", strings.ToLower(a.tx.Hex()),
				chains.PositionTx)
			out[id] = strings.ToLower(r.BlockHash.Hex())
		}
	}
	return out, nil
}

// receipt is the receipt of h, a transaction mined.
func (w *world) receipt(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	r, err := w.ec.TransactionReceipt(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("receipt of %s: %w", h, err)
	}
	return r, nil
}

// inOrder checks that the chain mined a before b, as the alerts expected of a flow assume
// (the deposit address's sweep before the payment to it): a harness error otherwise.
func inOrder(a, b *types.Receipt) error {
	if c := a.BlockNumber.Cmp(b.BlockNumber); c < 0 || c == 0 &&
		a.TransactionIndex < b.TransactionIndex {
		return nil
	}
	return fmt.Errorf("harness: the node mined %s (block %s) before %s (block %s), "+
		"which the flow's expected alerts assume it follows", b.TxHash, b.BlockNumber,
		a.TxHash, a.BlockNumber)
}

// check compares the alerts the receiver got with want (see expected): each confirmed in
// the block that mined its transaction, every one raised in an orphaned block retracted
// there once (streamaudit.Alerts.Check), and no other alert. It returns how many are
// confirmed as they should be, and the first difference.
func (w *world) check(want map[string]string) (int, error) {
	ids := map[string]bool{}
	var first error
	confirmed := 0
	for id, final := range want {
		ids[id] = true
		if _, _, err := w.recv.alerts.Check(id, final); err != nil {
			first = cmp.Or(first, err)
			continue
		}
		confirmed++
	}
	return confirmed, cmp.Or(first, w.recv.alerts.Unexpected(ids))
}
