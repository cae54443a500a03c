package chains

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"
)

// maxJSONLLine bounds one line of an extract file: a Bitcoin transaction with thousands
// of inputs fits.
const maxJSONLLine = 16 << 20

// jsonlRecord is one line of the extract schema (see AppendJSONL).
type jsonlRecord struct {
	Chain     string       `json:"chain"`
	Block     *uint64      `json:"block"`
	BlockHash string       `json:"block_hash"`
	Time      string       `json:"time"`
	Tx        string       `json:"tx"`
	Position  string       `json:"position"`
	Kind      Kind         `json:"kind"`
	From      string       `json:"from"`
	To        string       `json:"to"`
	Asset     string       `json:"asset"`
	Amount    string       `json:"amount"`
	Inputs    []jsonlInput `json:"inputs"`
	Outputs   []jsonlOut   `json:"outputs"`
}

type jsonlInput struct {
	Address   string  `json:"address"`
	Amount    string  `json:"amount"`
	PrevTx    string  `json:"prev_tx"`
	PrevIndex *uint32 `json:"prev_index"`
	Coinbase  bool    `json:"coinbase"`
}

type jsonlOut struct {
	Index      *uint32 `json:"index"`
	Address    string  `json:"address"`
	Amount     string  `json:"amount"`
	ScriptType string  `json:"script_type"`
}

// ReadJSONL reads movements in the extract schema (what `flowwatch extract` writes), one
// per line, and hands each to fn in order. A line that does not decode is an error naming
// its line; so is one that fn refuses. Blank lines are skipped.
func ReadJSONL(r io.Reader, fn func(*Movement) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxJSONLLine)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		m, err := decodeJSONL(sc.Bytes())
		if err == nil {
			err = fn(&m)
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	return nil
}

// decodeJSONL decodes one line of the extract schema.
func decodeJSONL(b []byte) (Movement, error) {
	var rec jsonlRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return Movement{}, err
	}
	t, err := time.Parse(time.RFC3339, rec.Time)
	switch {
	case rec.Chain == "" || rec.Tx == "" || rec.Position == "" || rec.BlockHash == "":
		return Movement{}, errors.New("chain, block_hash, tx and position are required")
	case rec.Block == nil:
		return Movement{}, errors.New("block is required")
	case err != nil:
		return Movement{}, fmt.Errorf("time: %w", err)
	}
	m := Movement{Chain: rec.Chain, Block: BlockRef{Number: *rec.Block, Hash: rec.BlockHash,
		Time: t.UTC()}, Tx: rec.Tx, Position: rec.Position, Kind: rec.Kind}
	switch rec.Kind {
	case KindNative, KindToken, KindInternal:
		amount, err := jsonlAmount(rec.Amount)
		if err != nil {
			return Movement{}, err
		}
		if rec.From == "" || rec.To == "" || rec.Asset == "" {
			return Movement{}, errors.New("from, to and asset are required")
		}
		m.Inputs = []Leg{{Address: rec.From, Asset: rec.Asset, Amount: amount}}
		m.Outputs = []Leg{{Address: rec.To, Asset: rec.Asset,
			Amount: new(big.Int).Set(amount)}}
	case KindUTXO:
		if err := decodeUTXO(&m, &rec); err != nil {
			return Movement{}, err
		}
	default:
		return Movement{}, fmt.Errorf("kind %q: want native, token, internal or utxo", rec.Kind)
	}
	return m, nil
}

func decodeUTXO(m *Movement, rec *jsonlRecord) error {
	if len(rec.Outputs) == 0 {
		return errors.New("a utxo movement without outputs")
	}
	for i, in := range rec.Inputs {
		if in.Coinbase {
			m.Inputs = append(m.Inputs, Leg{Coinbase: true, Asset: AssetNative})
			continue
		}
		amount, err := jsonlAmount(in.Amount)
		if err != nil {
			return fmt.Errorf("input %d: %w", i, err)
		}
		if in.PrevTx == "" || in.PrevIndex == nil {
			return fmt.Errorf("input %d: prev_tx and prev_index are required", i)
		}
		m.Inputs = append(m.Inputs, Leg{Address: in.Address, Asset: AssetNative,
			Amount: amount, PrevTx: in.PrevTx, PrevIndex: *in.PrevIndex})
	}
	for i, o := range rec.Outputs {
		amount, err := jsonlAmount(o.Amount)
		if err != nil {
			return fmt.Errorf("output %d: %w", i, err)
		}
		if o.Index == nil {
			return fmt.Errorf("output %d: index is required", i)
		}
		m.Outputs = append(m.Outputs, Leg{Address: o.Address, Asset: AssetNative,
			Amount: amount, Index: *o.Index, ScriptType: o.ScriptType})
	}
	return nil
}

// jsonlAmount parses a decimal amount of base units: not negative.
func jsonlAmount(s string) (*big.Int, error) {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok || v.Sign() < 0 {
		return nil, fmt.Errorf("amount %.40q: want a decimal number of base units", s)
	}
	return v, nil
}
