package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/queue"
	"github.com/flowwatch/flowwatch/watcher/taint"
)

// explainDeposits tells, for a test that did not settle, the story of each deposit address
// that the watched wallet paid: where the chain mined its deposit, sweep and payment as it
// ends, the inference the store holds of the address (for a registered address, where its
// payment was mined and what became of its alert: explainAlert), and every publication of
// those movements in the stream, in order (removals included).
func (w *launderWorld) explainDeposits(ctx context.Context) string {
	var b strings.Builder
	roles := map[string]string{} // by transaction: its flow and role
	store := taint.NewRedis(w.rdb, w.prefix)
	for i, d := range w.deposits {
		if d.pay == (common.Hash{}) {
			continue
		}
		fmt.Fprintf(&b, "\ndeposit flow %d, address %s:", i, d.addr.Hex())
		for _, tx := range []struct {
			role string
			h    common.Hash
		}{{"deposit", d.deposit}, {"sweep", d.sweep}, {"payment", d.pay}} {
			roles[strings.ToLower(tx.h.Hex())] = fmt.Sprintf("flow %d %s", i, tx.role)
			switch at, err := w.mined(ctx, tx.h); {
			case err != nil:
				fmt.Fprintf(&b, " %s: %v;", tx.role, err)
			case at == nil:
				fmt.Fprintf(&b, " %s not mined;", tx.role)
			default:
				fmt.Fprintf(&b, " %s in block %d %.10s;", tx.role, at.number, at.hash)
			}
		}
		key := deposit.Key(strings.ToLower(d.addr.Hex()))
		got, err := store.Taints(ctx, "dev", key)
		switch t, ok := got[key]; {
		case err != nil:
			fmt.Fprintf(&b, " inference: %v", err)
		case !ok:
			fmt.Fprint(&b, " no inference stored")
		default:
			fmt.Fprint(&b, " inference by")
			for _, h := range t.Path {
				fmt.Fprintf(&b, " %.10s in block %d", h.Tx, h.Block)
			}
		}
	}
	for i, r := range w.registered {
		if r.pay == (common.Hash{}) {
			continue
		}
		roles[strings.ToLower(r.pay.Hex())] = fmt.Sprintf("registered %d payment", i)
		fmt.Fprintf(&b, "\nregistered address %d, %s (registered before process %d):", i,
			r.addr.Hex(), r.epoch+1)
		switch at, err := w.mined(ctx, r.pay); {
		case err != nil:
			fmt.Fprintf(&b, " payment: %v", err)
		case at == nil:
			fmt.Fprint(&b, " payment not mined")
		default:
			fmt.Fprintf(&b, " payment in block %d %.10s", at.number, at.hash)
		}
		w.explainAlert(ctx, &b, store, r.pay)
	}
	q := queue.NewRedis(w.rdb, queue.RedisOptions{Prefix: w.prefix, Group: "explain"})
	defer q.Close()
	for {
		entries, err := q.Read(ctx, "dev", "explainer", 1000, time.Millisecond)
		if err != nil {
			fmt.Fprintf(&b, "\nread the stream: %v", err)
			break
		}
		if len(entries) == 0 {
			break
		}
		for _, e := range entries {
			for _, p := range e.Payloads {
				if m, err := chains.UnmarshalMovement(p); err == nil && roles[m.Tx] != "" {
					fmt.Fprintf(&b, "\nentry %s: %s, removed %v, block %d %.10s", e.ID,
						roles[m.Tx], m.Removed, m.Block.Number, m.Block.Hash)
				}
			}
		}
	}
	return b.String()
}

// explainAlert tells what became of the to-exchange alert on the payment tx: what the
// workers recorded with the movement, the alert log's entries of it, and its incident.
func (w *launderWorld) explainAlert(ctx context.Context, b *strings.Builder, store *taint.Redis,
	tx common.Hash) {
	key := "dev/" + strings.ToLower(tx.Hex()) + "/" + chains.PositionTx
	id := alerting.AlertID("to-exchange", "dev", strings.ToLower(tx.Hex()), chains.PositionTx)
	rec, err := store.Recorded(ctx, "dev", key)
	var as []alerting.Alert
	switch raw, ok := rec[key]; {
	case err != nil:
	case !ok:
		err = errors.New("not applied")
	case len(raw) > 0:
		err = json.Unmarshal(raw, &as)
	}
	fmt.Fprintf(b, "; recorded with the movement (%v):", err)
	for _, a := range as {
		fmt.Fprintf(b, " %s %s in %.10s", a.Rule, a.State, a.BlockHash)
	}
	j := alerting.NewRedisJournal(w.rdb, w.prefix, nil)
	for after := uint64(0); ; {
		es, err := j.Entries(ctx, after, 1000)
		if err != nil || len(es) == 0 {
			break
		}
		for _, e := range es {
			if after = e.Seq; e.Alert.ID == id {
				fmt.Fprintf(b, "; log %d: %s in %.10s", e.Seq, e.Alert.State,
					e.Alert.BlockHash)
			}
		}
	}
	inc, _ := w.rdb.HGetAll(ctx, w.prefix+":{alerts}:incidents").Result()
	for _, v := range inc {
		var in struct {
			alerting.Incident
			Notified int `json:"notified"`
		}
		if strings.Contains(v, id) && json.Unmarshal([]byte(v), &in) == nil {
			fmt.Fprintf(b, "; incident %s %s, %d in force, %d notifications", in.ID,
				in.Status, in.Alerts, in.Notified)
		}
	}
}
