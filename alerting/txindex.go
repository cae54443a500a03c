package alerting

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// DefaultTxIndexBatch is how many journal entries TxIndex reads per round trip.
const DefaultTxIndexBatch = 1000

// AlertRef is what TxIndex keeps of an alert: enough to tell a screening client that a
// rule alerted on a transaction, and where to read the rest (flowwatch alerts show ID).
type AlertRef struct {
	ID          string    `json:"id"`
	Rule        string    `json:"rule"`
	Severity    string    `json:"severity"`
	State       State     `json:"state"` // where it stands (Standing.State)
	Position    string    `json:"position"`
	Destination string    `json:"destination"`
	Entity      string    `json:"entity,omitempty"` // the destination's
	Time        time.Time `json:"time"`             // the block's
	standing    Standing
}

// TxIndex finds the alerts raised on a transaction, from a Journal it follows: each call
// first reads what was appended since the last. It keeps, per transaction, one AlertRef
// per alert ID, in its latest state (see Standing: a retraction takes back only the alert
// raised in the block it names). Safe for concurrent use.
type TxIndex struct {
	j     Journal
	batch int

	mu    sync.Mutex
	after uint64                // the last entry read
	byTx  map[string][]AlertRef // by chain + "/" + tx
}

// NewTxIndex returns an index of j's alerts by transaction.
func NewTxIndex(j Journal) *TxIndex {
	return &TxIndex{j: j, batch: DefaultTxIndexBatch, byTx: map[string][]AlertRef{}}
}

// Alerts returns the alerts raised on chain's transaction tx, in the order first raised,
// each in its latest state.
func (x *TxIndex) Alerts(ctx context.Context, chain, tx string) ([]AlertRef, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for {
		es, err := x.j.Entries(ctx, x.after, x.batch)
		if err != nil {
			return nil, fmt.Errorf("read the alert log after entry %d: %w", x.after, err)
		}
		for i := range es {
			x.add(&es[i])
		}
		if len(es) < x.batch {
			break
		}
	}
	refs := x.byTx[chain+"/"+tx]
	out := make([]AlertRef, len(refs))
	copy(out, refs)
	return out, nil
}

// add indexes one entry; an entry that does not decode has nothing to index.
func (x *TxIndex) add(e *Entry) {
	x.after = max(x.after, e.Seq)
	a := &e.Alert
	if e.Err != nil || a.Tx == "" {
		return
	}
	ref := AlertRef{ID: a.ID, Rule: a.Rule, Severity: a.Severity, State: a.State,
		Position: a.Position, Destination: a.Destination.Address,
		Entity: a.Destination.Entity, Time: a.Time}
	k := a.Chain + "/" + a.Tx
	refs := x.byTx[k]
	i := slices.IndexFunc(refs, func(r AlertRef) bool { return r.ID == a.ID })
	if i < 0 {
		i, refs = len(refs), append(refs, ref)
		x.byTx[k] = refs
	}
	r := &refs[i]
	r.standing.Note(a)
	if a.State != StateRetracted {
		st := r.standing
		*r = ref
		r.standing = st
	}
	r.State = r.standing.State()
}
