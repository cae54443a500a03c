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

// MarshalMovement encodes a movement for the queue.
func MarshalMovement(m *Movement) ([]byte, error) {
	w := wireMovement{Chain: m.Chain, Block: m.Block.Number, BlockHash: m.Block.Hash,
		ParentHash: m.Block.ParentHash, Time: m.Block.Time.UTC(), Tx: m.Tx, TxIndex: m.TxIndex,
		Position: m.Position, Kind: m.Kind, Removed: m.Removed,
		Inputs: toWire(m.Inputs), Outputs: toWire(m.Outputs)}
	return json.Marshal(&w)
}

func toWire(legs []Leg) []wireLeg {
	out := make([]wireLeg, len(legs))
	for i, l := range legs {
		amount := "0"
		if l.Amount != nil {
			amount = l.Amount.String()
		}
		out[i] = wireLeg{Address: l.Address, Asset: l.Asset, Amount: amount, PrevTx: l.PrevTx,
			PrevIndex: l.PrevIndex, Coinbase: l.Coinbase, Index: l.Index,
			ScriptType: l.ScriptType}
	}
	return out
}

// UnmarshalMovement decodes a movement from the queue and checks what every consumer relies
// on: chain, tx and position are set, there is at least one leg, amounts are non-negative
// decimal integers.
func UnmarshalMovement(b []byte) (Movement, error) {
	var w wireMovement
	if err := json.Unmarshal(b, &w); err != nil {
		return Movement{}, fmt.Errorf("decode movement: %w", err)
	}
	switch {
	case w.Chain == "" || w.Tx == "" || w.Position == "":
		return Movement{}, errors.New("decode movement: missing chain, tx or position")
	case len(w.Inputs)+len(w.Outputs) == 0:
		return Movement{}, errors.New("decode movement: no legs")
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
