package taint

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/flowwatch/flowwatch/internal/pack"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// The stored form of a taint (version 2):
//
//	0x02, str root, str entity, str category, str list, str by, uvarint n, n × hop,
//	byte has-amount, [amount]
//	hop: str chain, uvarint block, str tx, str position, str from, str to, str asset,
//	     amount (length-prefixed big-endian bytes)
//
// Every input address of every movement is looked up, so decoding is on the workers' hot
// path; the binary form decodes several times faster than the JSON one that earlier
// versions wrote, which still decodes, as does version 1 (version 2 without the trailing
// tainted amount).
const (
	taintVersion1  = 1
	taintVersion   = 2
	minHopBytes    = 8
	maxAmountBytes = 64
)

func encode(t rules.Taint) ([]byte, error) {
	b := make([]byte, 0, 64+len(t.Path)*160)
	b = append(b, taintVersion)
	for _, s := range [...]string{t.Root, t.Source.Entity, t.Source.Category, t.Source.List,
		t.By} {
		b = pack.AppendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(t.Path)))
	for _, h := range t.Path {
		b = pack.AppendString(b, h.Chain)
		b = binary.AppendUvarint(b, h.Block)
		for _, s := range [...]string{h.Tx, h.Position, h.From, h.To, h.Asset} {
			b = pack.AppendString(b, s)
		}
		var err error
		if b, err = pack.AppendAmount(b, h.Amount); err != nil {
			return nil, fmt.Errorf("encode taint: %w", err)
		}
	}
	if t.Amount == nil {
		return append(b, 0), nil
	}
	b = append(b, 1)
	b, err := pack.AppendAmount(b, t.Amount)
	if err != nil {
		return nil, fmt.Errorf("encode taint: %w", err)
	}
	return b, nil
}

func decode(b []byte) (rules.Taint, error) {
	if len(b) > 0 && b[0] == '{' {
		return decodeJSON(b)
	}
	if len(b) == 0 || (b[0] != taintVersion && b[0] != taintVersion1) {
		return rules.Taint{}, fmt.Errorf("decode taint: unknown version")
	}
	r := pack.NewReader(b[1:])
	t := rules.Taint{Root: r.String(), Source: rules.Source{Entity: r.String(),
		Category: r.String(), List: r.String()}, By: r.String()}
	if n := r.Count(minHopBytes); n > 0 {
		t.Path = make([]rules.Hop, n)
		for i := range t.Path {
			h := &t.Path[i]
			h.Chain = r.String()
			h.Block = r.Uvarint()
			h.Tx, h.Position, h.From = r.String(), r.String(), r.String()
			h.To, h.Asset = r.String(), r.String()
			h.Amount = r.Amount(maxAmountBytes)
		}
	}
	if b[0] == taintVersion {
		switch r.Byte() {
		case 0:
		case 1:
			t.Amount = r.Amount(maxAmountBytes)
		default:
			r.Fail(fmt.Errorf("bad amount flag"))
		}
	}
	if err := r.Done(); err != nil {
		return rules.Taint{}, fmt.Errorf("decode taint: %w", err)
	}
	return t, nil
}

type wireHop struct {
	Chain    string `json:"chain"`
	Block    uint64 `json:"block"`
	Tx       string `json:"tx"`
	Position string `json:"position"`
	From     string `json:"from"`
	To       string `json:"to"`
	Asset    string `json:"asset"`
	Amount   string `json:"amount"`
}

// wireTaint is the JSON form earlier versions stored.
type wireTaint struct {
	Root     string    `json:"root"`
	Entity   string    `json:"entity"`
	Category string    `json:"category"`
	List     string    `json:"list"`
	Path     []wireHop `json:"path"`
	By       string    `json:"by"`
}

func decodeJSON(b []byte) (rules.Taint, error) {
	var w wireTaint
	if err := json.Unmarshal(b, &w); err != nil {
		return rules.Taint{}, fmt.Errorf("decode taint: %w", err)
	}
	t := rules.Taint{Root: w.Root, By: w.By, Source: rules.Source{Entity: w.Entity,
		Category: w.Category, List: w.List}}
	for _, h := range w.Path {
		amount, ok := new(big.Int).SetString(h.Amount, 10)
		if !ok || amount.Sign() < 0 {
			return rules.Taint{}, fmt.Errorf("decode taint: bad amount %q", h.Amount)
		}
		t.Path = append(t.Path, rules.Hop{Chain: h.Chain, Block: h.Block, Tx: h.Tx,
			Position: h.Position, From: h.From, To: h.To, Asset: h.Asset, Amount: amount})
	}
	return t, nil
}
