package chains

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// wireMovement is the JSON form of a Movement on the queue and in stored block records.
// Amounts are decimal strings; times are RFC 3339 in UTC.
type wireMovement struct {
	Chain      string    `json:"chain"`
	Block      uint64    `json:"block"`
	BlockHash  string    `json:"block_hash"`
	ParentHash string    `json:"parent_hash"`
	Time       time.Time `json:"time"`
	Tx         string    `json:"tx"`
	TxIndex    uint      `json:"tx_index"`
	Position   string    `json:"position"`
	Kind       Kind      `json:"kind"`
	Inputs     []wireLeg `json:"inputs"`
	Outputs    []wireLeg `json:"outputs"`
	Removed    bool      `json:"removed,omitempty"`
}

type wireLeg struct {
	Address    string `json:"address"`
	Asset      string `json:"asset"`
	Amount     string `json:"amount"`
	PrevTx     string `json:"prev_tx,omitempty"`
	PrevIndex  uint32 `json:"prev_index,omitempty"`
	Coinbase   bool   `json:"coinbase,omitempty"`
	Index      uint32 `json:"index,omitempty"`
	ScriptType string `json:"script_type,omitempty"`
}

// MarshalMovement encodes a movement for the queue and block records, in the binary wire
// form (see wirebin.go).
func MarshalMovement(m *Movement) ([]byte, error) {
	return marshalBinary(make([]byte, 0, 256), m)
}

// UnmarshalMovement decodes a movement from the queue, in the binary form or, for entries an
// earlier version wrote, the JSON form (which starts with '{'), and checks what every
// consumer relies on: chain, tx and position are set, there is at least one leg, amounts are
// non-negative integers.
func UnmarshalMovement(b []byte) (Movement, error) {
	return unmarshalMovement(b, &Movement{})
}

// UnmarshalMovements decodes the payloads of a batch (a stream entry) in order, as
// UnmarshalMovement does each; strings that repeat from one movement to the next (chain,
// block hash, kind, asset) are shared, not allocated for each. errs[i] is payload i's error;
// a movement that failed is left zero.
func UnmarshalMovements(payloads [][]byte) (ms []Movement, errs []error) {
	ms = make([]Movement, len(payloads))
	like := &Movement{}
	for i, p := range payloads {
		m, err := unmarshalMovement(p, like)
		if err != nil {
			if errs == nil {
				errs = make([]error, len(payloads))
			}
			errs[i] = err
			continue
		}
		ms[i] = m
		like = &ms[i]
	}
	return ms, errs
}

func unmarshalMovement(b []byte, like *Movement) (Movement, error) {
	var (
		m   Movement
		err error
	)
	switch {
	case len(b) == 0:
		return Movement{}, errors.New("decode movement: empty")
	case b[0] == '{' || b[0] == ' ' || b[0] == '\n':
		m, err = unmarshalJSON(b)
	default:
		m, err = unmarshalBinary(b, like)
	}
	if err != nil {
		return Movement{}, err
	}
	switch {
	case m.Chain == "" || m.Tx == "" || m.Position == "":
		return Movement{}, errors.New("decode movement: missing chain, tx or position")
	case len(m.Inputs)+len(m.Outputs) == 0:
		return Movement{}, errors.New("decode movement: no legs")
	}
	return m, nil
}

func unmarshalJSON(b []byte) (Movement, error) {
	var w wireMovement
	if err := json.Unmarshal(b, &w); err != nil {
		return Movement{}, fmt.Errorf("decode movement: %w", err)
	}
	m := Movement{Chain: w.Chain, Tx: w.Tx, TxIndex: w.TxIndex, Position: w.Position,
		Kind: w.Kind, Removed: w.Removed, Block: BlockRef{Number: w.Block, Hash: w.BlockHash,
			ParentHash: w.ParentHash, Time: w.Time.UTC()}}
	var err error
	if m.Inputs, err = fromWire(w.Inputs); err != nil {
		return Movement{}, err
	}
	if m.Outputs, err = fromWire(w.Outputs); err != nil {
		return Movement{}, err
	}
	return m, nil
}

func fromWire(legs []wireLeg) ([]Leg, error) {
	if len(legs) == 0 {
		return nil, nil
	}
	out := make([]Leg, len(legs))
	for i, l := range legs {
		amount, ok := new(big.Int).SetString(l.Amount, 10)
		if !ok || amount.Sign() < 0 {
			return nil, fmt.Errorf("decode movement: bad amount %q", l.Amount)
		}
		out[i] = Leg{Address: l.Address, Asset: l.Asset, Amount: amount, PrevTx: l.PrevTx,
			PrevIndex: l.PrevIndex, Coinbase: l.Coinbase, Index: l.Index,
			ScriptType: l.ScriptType}
	}
	return out, nil
}
