package api

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// Node is what deposit screening asks of a chain's node (the chains' sources have it).
type Node interface {
	Head(ctx context.Context) (uint64, error)
	Tx(ctx context.Context, hash string) (*chains.Tx, error)
}

// AlertFinder finds the alerts raised on a transaction (alerting.TxIndex has it).
type AlertFinder interface {
	Alerts(ctx context.Context, chain, tx string) ([]alerting.AlertRef, error)
}

var (
	_ Node        = (*chains.Failover)(nil)
	_ AlertFinder = (*alerting.TxIndex)(nil)
)

// Deposit statuses.
const (
	StatusConfirmed = "confirmed" // in a block of the node's best chain
	StatusPending   = "pending"   // in the node's mempool
)

// DepositReport is what deposit screening found of the funds one transaction delivered
// to one address.
type DepositReport struct {
	Chain   string `json:"chain"`
	Tx      string `json:"tx"`      // normalized
	Address string `json:"address"` // normalized
	Status  string `json:"status"`
	Block   *Block `json:"block,omitempty"` // when confirmed
	// Confirmations are the blocks on top of the transaction's, its own included; 0 while
	// pending.
	Confirmations uint64     `json:"confirmations"`
	Received      []Received `json:"received"`
	Risk          string     `json:"risk"`
	Reasons       []string   `json:"reasons"`
	// Exposure is the watched funds among those delivered, per source and taint model;
	// Hops counts from the source to the address.
	Exposure []Exposure `json:"exposure"`
	// Senders are the screening reports of the addresses the funds came from.
	Senders []Report `json:"senders"`
	// Alerts are those raised on the transaction for this address, in their latest state.
	Alerts     []alerting.AlertRef   `json:"alerts"`
	Registered *deposit.Registration `json:"registered,omitempty"`
	// Partial says the transaction is pending on an account chain: only its own value is
	// known; tokens and internal transfers show once it is mined.
	Partial bool `json:"partial,omitempty"`
}

// Block places a confirmed deposit.
type Block struct {
	Number uint64    `json:"number"`
	Hash   string    `json:"hash"`
	Time   time.Time `json:"time"`
}

// Received is one payment of the transaction to the address.
type Received struct {
	Position string `json:"position"`
	Asset    string `json:"asset"`
	Amount   string `json:"amount"` // base units, decimal
}

// StatusError is a request's fault that is not one field's: the status and why.
type StatusError struct {
	Code int
	Msg  string
}

func (e *StatusError) Error() string { return e.Msg }

// Deposits screens deposits: a transaction looked up on its chain's node, the addresses
// it spent from screened, the taint the rules gave its outputs, the alerts raised on it.
// Safe for concurrent use.
type Deposits struct {
	screen *Screener
	nodes  map[string]Node
	alerts AlertFinder // nil: none looked up
}

// NewDeposits returns deposit screening over screen, with a node per chain name.
func NewDeposits(screen *Screener, nodes map[string]Node, alerts AlertFinder) *Deposits {
	return &Deposits{screen: screen, nodes: nodes, alerts: alerts}
}

var (
	evmTx     = regexp.MustCompile(`^0x[0-9a-f]{64}$`)
	bitcoinTx = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// normalizeTx checks a transaction hash of family and returns it in lower case.
func normalizeTx(family chains.Family, tx string) (string, error) {
	tx = strings.ToLower(strings.TrimSpace(tx))
	if family == chains.FamilyEVM {
		if !strings.HasPrefix(tx, "0x") {
			tx = "0x" + tx
		}
		if !evmTx.MatchString(tx) {
			return "", &FieldError{"tx", "want a 32-byte transaction hash as 0x and 64 hex " +
				"digits"}
		}
		return tx, nil
	}
	if !bitcoinTx.MatchString(tx) {
		return "", &FieldError{"tx", "want a transaction id of 64 hex digits"}
	}
	return tx, nil
}

// Screen reports what tx delivered to addr on chain.
func (d *Deposits) Screen(ctx context.Context, chain, tx, addr string) (*DepositReport,
	error) {
	addr, err := d.screen.Normalize(chain, addr)
	if err != nil {
		return nil, err
	}
	family := d.screen.chains[chain].Family
	if tx, err = normalizeTx(family, tx); err != nil {
		return nil, err
	}
	node, ok := d.nodes[chain]
	if !ok {
		return nil, &StatusError{http.StatusNotImplemented, fmt.Sprintf("no node of chain "+
			"%s to look transactions up on", chain)}
	}
	t, err := node.Tx(ctx, tx)
	if errors.Is(err, chains.ErrTxNotFound) {
		return nil, &StatusError{http.StatusNotFound, fmt.Sprintf("transaction %s is not "+
			"known to the %s node, neither mined nor pending", tx, chain)}
	}
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", tx, err)
	}
	r := &DepositReport{Chain: chain, Tx: tx, Address: addr, Status: StatusPending,
		Received: []Received{}, Exposure: []Exposure{}, Senders: []Report{},
		Alerts: []alerting.AlertRef{}, Partial: t.Partial}
	if t.Mined {
		head, err := node.Head(ctx)
		if err != nil {
			return nil, fmt.Errorf("head: %w", err)
		}
		r.Status = StatusConfirmed
		r.Block = &Block{Number: t.Block.Number, Hash: t.Block.Hash, Time: t.Block.Time}
		r.Confirmations = 1
		if head > t.Block.Number {
			r.Confirmations += head - t.Block.Number
		}
	}
	pays := payments(t, addr)
	for _, p := range pays {
		r.Received = append(r.Received, Received{Position: p.position, Asset: p.leg.Asset,
			Amount: p.leg.Amount.String()})
	}
	if len(pays) == 0 {
		msg := fmt.Sprintf("transaction %s pays nothing to %s", tx, addr)
		if t.Partial {
			msg += " that is known while it is pending (its own value only: tokens " +
				"and internal transfers show once it is mined)"
		}
		return nil, &StatusError{http.StatusUnprocessableEntity, msg}
	}
	if err := d.judge(ctx, r, t, pays); err != nil {
		return nil, err
	}
	if d.screen.registry != nil {
		if g, ok := d.screen.registry.Get(chain, addr); ok {
			r.Registered = &g
		}
	}
	if d.alerts != nil {
		refs, err := d.alerts.Alerts(ctx, chain, tx)
		if err != nil {
			return nil, err
		}
		for _, a := range refs {
			if a.Destination == addr {
				r.Alerts = append(r.Alerts, a)
			}
		}
	}
	return r, nil
}

// payment is one output of a transaction to the screened address.
type payment struct {
	m        *chains.Movement
	leg      chains.Leg
	position string
}

// payments are t's value movements to addr.
func payments(t *chains.Tx, addr string) []payment {
	var out []payment
	for i := range t.Movements {
		m := &t.Movements[i]
		if m.Kind == chains.KindEvent {
			continue
		}
		for _, o := range m.Outputs {
			if o.Address != addr || o.Amount == nil || o.Amount.Sign() <= 0 {
				continue
			}
			pos := m.Position
			if m.Kind == chains.KindUTXO {
				pos = chains.PositionVout(o.Index)
			}
			out = append(out, payment{m: m, leg: o, position: pos})
		}
	}
	return out
}

// judge fills in r's senders, exposure, reasons and risk.
func (d *Deposits) judge(ctx context.Context, r *DepositReport, t *chains.Tx,
	pays []payment) error {
	var senders []string
	seen := map[string]bool{r.Address: true} // change back to the address is no sender
	var keys []string
	for _, p := range pays {
		for _, in := range p.m.Inputs {
			if in.Address != "" && !seen[in.Address] {
				seen[in.Address] = true
				senders = append(senders, in.Address)
			}
		}
		if p.m.Kind == chains.KindUTXO {
			for _, model := range allModels {
				keys = append(keys, rules.ModelKey(model, rules.OutpointKey(t.Hash,
					p.leg.Index)))
			}
		}
	}
	// A Bitcoin transaction is one movement: its inputs' outputs once, for every payment.
	if m := pays[0].m; m.Kind == chains.KindUTXO {
		for _, model := range allModels {
			for _, in := range m.Inputs {
				if !in.Coinbase {
					keys = append(keys, rules.ModelKey(model,
						rules.OutpointKey(in.PrevTx, in.PrevIndex)))
				}
			}
		}
	}
	var err error
	if len(senders) > 0 {
		if r.Senders, err = d.screen.Screen(ctx, r.Chain, senders...); err != nil {
			return err
		}
	}
	stored := map[string]rules.Taint{}
	if len(keys) > 0 {
		if stored, err = d.screen.taint.Taints(ctx, r.Chain, keys...); err != nil {
			return fmt.Errorf("read taint: %w", err)
		}
	}
	var reasons []reason
	for _, s := range r.Senders {
		reasons = append(reasons, d.fromSender(r, s, pays)...)
	}
	for _, p := range pays {
		if p.m.Kind == chains.KindUTXO {
			reasons = append(reasons, d.fromOutpoints(r, t, p, stored)...)
		}
	}
	r.Risk, r.Reasons = summarize(reasons)
	return nil
}

var allModels = []string{rules.ModelPoison, rules.ModelHaircut, rules.ModelFIFO}

// fromSender adds to r what a sender's screening says of the funds it sent: its
// designations and labels directly, and on account chains its exposure one hop on.
func (d *Deposits) fromSender(r *DepositReport, s Report, pays []payment) []reason {
	var out []reason
	risk := &d.screen.risk
	for _, l := range s.Listed {
		if l.InForce {
			out = append(out, reason{risk.source(l.Category), fmt.Sprintf("sent by %s, "+
				"listed as %s (%s, %s)", s.Address, l.Category, l.Entity, l.List)})
		}
	}
	for _, l := range s.Labels {
		if lv := risk.label(l.Category); lv != RiskNone {
			out = append(out, reason{lv, fmt.Sprintf("sent by %s, labelled %s (%s)",
				s.Address, l.Category, l.Entity)})
		}
	}
	if pays[0].m.Kind == chains.KindUTXO {
		return out // the outputs it spent say more than its address
	}
	for _, e := range s.Exposure {
		for _, p := range pays {
			if p.m.Inputs[0].Address != s.Address || p.leg.Asset != e.Asset {
				continue
			}
			x := e
			x.Hops++
			x.Evidence = append(append([]string{}, e.Evidence...), r.Tx)
			x.Time, x.Held = r.blockTime(), ""
			x.TaintedAmount = carried(e, p.leg.Amount)
			share := -1
			if e.Model == rules.ModelHaircut && e.Held != "" {
				share = shareBP(e.TaintedAmount, e.Held)
			}
			x.Risk = risk.exposure(x.Category, x.Hops, share)
			r.Exposure = append(r.Exposure, x)
			out = append(out, reason{x.Risk, fmt.Sprintf("sent by %s, which received %s "+
				"of %s (%s) %d hop(s) away (%s)", s.Address, e.TaintedAmount, e.Entity,
				e.Category, e.Hops, e.Model)})
		}
	}
	return out
}

// carried is the part of amount, sent by an address with exposure e, that is watched
// funds: all of it under poison, the sender's tainted share under haircut; "" under FIFO,
// where it depends on the order the sender's funds arrived, which is kept per address,
// not per transaction.
func carried(e Exposure, amount *big.Int) string {
	switch e.Model {
	case rules.ModelPoison:
		return amount.String()
	case rules.ModelHaircut:
		t, ok1 := new(big.Int).SetString(e.TaintedAmount, 10)
		h, ok2 := new(big.Int).SetString(e.Held, 10)
		if !ok1 || !ok2 || h.Sign() <= 0 {
			return ""
		}
		v := new(big.Int).Mul(amount, t)
		return v.Quo(v, h).String()
	}
	return ""
}

// shareBP is tainted / held (decimal strings) in basis points; -1 if either is unknown.
func shareBP(tainted, held string) int {
	t, ok1 := new(big.Int).SetString(tainted, 10)
	h, ok2 := new(big.Int).SetString(held, 10)
	if !ok1 || !ok2 || h.Sign() <= 0 {
		return -1
	}
	return basisPoints(t, h)
}

// fromOutpoints adds to r what the taint store holds of a Bitcoin payment: the taint the
// rules gave the output itself when they judged the transaction, and otherwise (not
// judged yet: pending, or the workers behind) the taint of the outputs its inputs spent.
func (d *Deposits) fromOutpoints(r *DepositReport, t *chains.Tx, p payment,
	stored map[string]rules.Taint) []reason {
	var out []reason
	risk := &d.screen.risk
	for _, model := range allModels {
		own, ok := stored[rules.ModelKey(model, rules.OutpointKey(t.Hash, p.leg.Index))]
		if ok {
			e := exposure(model, own)
			e.Risk = risk.exposure(e.Category, e.Hops, -1)
			r.Exposure = append(r.Exposure, e)
			out = append(out, reason{e.Risk, fmt.Sprintf("output %s carries %s of %s (%s) "+
				"%d hop(s) away (%s)", p.position, e.TaintedAmount, e.Entity, e.Category,
				e.Hops, model)})
			continue
		}
		total, tainted := new(big.Int), new(big.Int)
		var origin *rules.Taint
		for _, in := range p.m.Inputs {
			if in.Coinbase || in.Amount == nil {
				continue
			}
			total.Add(total, in.Amount)
			it, ok := stored[rules.ModelKey(model, rules.OutpointKey(in.PrevTx, in.PrevIndex))]
			if !ok {
				continue
			}
			part := in.Amount
			if model == rules.ModelHaircut && it.Amount != nil && it.Amount.Cmp(part) < 0 {
				part = it.Amount
			}
			tainted.Add(tainted, part)
			if origin == nil {
				origin = &it
			}
		}
		if origin == nil {
			continue
		}
		e := exposure(model, *origin)
		e.Hops++
		e.Evidence = append(e.Evidence, r.Tx)
		e.Time, e.Asset = r.blockTime(), p.leg.Asset
		share := -1
		switch model {
		case rules.ModelPoison:
			e.TaintedAmount = p.leg.Amount.String()
		case rules.ModelHaircut:
			v := new(big.Int).Mul(p.leg.Amount, tainted)
			e.TaintedAmount = v.Quo(v, total).String()
			share = basisPoints(tainted, total)
		default:
			e.TaintedAmount = ""
		}
		e.Risk = risk.exposure(e.Category, e.Hops, share)
		r.Exposure = append(r.Exposure, e)
		out = append(out, reason{e.Risk, fmt.Sprintf("spends outputs carrying funds of %s "+
			"(%s) %d hop(s) away (%s)", e.Entity, e.Category, e.Hops-1, model)})
	}
	return out
}

// blockTime is the deposit's block time; zero while pending.
func (r *DepositReport) blockTime() time.Time {
	if r.Block == nil {
		return time.Time{}
	}
	return r.Block.Time.UTC()
}

// DepositRequest is POST /v1/deposits's body.
type DepositRequest struct {
	Chain   string `json:"chain"`
	Tx      string `json:"tx"`
	Address string `json:"address"`
}

func (s *Server) deposit(w http.ResponseWriter, r *http.Request) {
	if s.opts.Deposits == nil {
		writeError(w, http.StatusNotImplemented, "", "deposit screening is off: this "+
			"process has no chain nodes to look transactions up on")
		return
	}
	var req DepositRequest
	if !s.decode(w, r, &req) {
		return
	}
	for _, f := range []struct{ name, v string }{{"chain", req.Chain}, {"tx", req.Tx},
		{"address", req.Address}} {
		if f.v == "" {
			writeError(w, http.StatusBadRequest, f.name, "missing")
			return
		}
	}
	rep, err := s.opts.Deposits.Screen(r.Context(), req.Chain, req.Tx, req.Address)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
