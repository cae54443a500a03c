package taint

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/flowwatch/flowwatch/internal/pack"
	"github.com/flowwatch/flowwatch/watcher/rules"
)

// The stored form of a taint (version 3):
//
//	0x03, str root, str entity, str category, str list, str by, uvarint n, n × hop,
//	opt amount, uvarint n, n × lot, uvarint n, n × holding
//	hop:     str chain, uvarint block, byte flags (1: time, 2: tainted), [varint unix
//	         seconds, uvarint nanoseconds], str tx, str position, str from, str to,
//	         str asset, amount, [amount tainted]
//	lot:     byte tainted (0 or 1), amount
//	holding: str asset, opt balance, opt tainted, uvarint n, n × lot
//	opt x:   byte 0 (nil), or byte 1 and x
//	amount:  length-prefixed big-endian bytes
//
// Every input address of every movement is looked up, so decoding is on the workers' hot
// path; the binary form decodes several times faster than the JSON one that earlier
// versions wrote, which still decodes, as do version 1 (version 2 without the trailing
// tainted amount) and version 2 (hops without time or tainted part; no lots or holdings).
const (
	taintVersion1  = 1
	taintVersion2  = 2
	taintVersion   = 3
	minHopBytes    = 8
	minLotBytes    = 2
	maxAmountBytes = 64

	hopHasTime    = 1
	hopHasTainted = 2
)

func encode(t rules.Taint) ([]byte, error) {
	b := make([]byte, 0, 64+len(t.Path)*160)
	b = append(b, taintVersion)
	for _, s := range [...]string{t.Root, t.Source.Entity, t.Source.Category, t.Source.List,
		t.By} {
		b = pack.AppendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(t.Path)))
	var err error
	for _, h := range t.Path {
		b = pack.AppendString(b, h.Chain)
		b = binary.AppendUvarint(b, h.Block)
		var flags byte
		if !h.Time.IsZero() {
			flags |= hopHasTime
		}
		if h.Tainted != nil {
			flags |= hopHasTainted
		}
		b = append(b, flags)
		if !h.Time.IsZero() {
			b = binary.AppendVarint(b, h.Time.Unix())
			b = binary.AppendUvarint(b, uint64(h.Time.Nanosecond()))
		}
		for _, s := range [...]string{h.Tx, h.Position, h.From, h.To, h.Asset} {
			b = pack.AppendString(b, s)
		}
		if b, err = pack.AppendAmount(b, h.Amount); err != nil {
			return nil, fmt.Errorf("encode taint: %w", err)
		}
		if h.Tainted != nil {
			if b, err = pack.AppendAmount(b, h.Tainted); err != nil {
				return nil, fmt.Errorf("encode taint: %w", err)
			}
		}
	}
	if b, err = appendOptAmount(b, t.Amount); err != nil {
		return nil, err
	}
	if b, err = appendLots(b, t.Lots); err != nil {
		return nil, err
	}
	b = binary.AppendUvarint(b, uint64(len(t.Holdings)))
	for _, h := range t.Holdings {
		b = pack.AppendString(b, h.Asset)
		if b, err = appendOptAmount(b, h.Balance); err != nil {
			return nil, err
		}
		if b, err = appendOptAmount(b, h.Tainted); err != nil {
			return nil, err
		}
		if b, err = appendLots(b, h.Lots); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func appendOptAmount(b []byte, v *big.Int) ([]byte, error) {
	if v == nil {
		return append(b, 0), nil
	}
	b, err := pack.AppendAmount(append(b, 1), v)
	if err != nil {
		return nil, fmt.Errorf("encode taint: %w", err)
	}
	return b, nil
}

func appendLots(b []byte, lots []rules.Lot) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(len(lots)))
	for _, l := range lots {
		flag := byte(0)
		if l.Tainted {
			flag = 1
		}
		var err error
		if b, err = pack.AppendAmount(append(b, flag), l.Amount); err != nil {
			return nil, fmt.Errorf("encode taint: %w", err)
		}
	}
	return b, nil
}

func decode(b []byte) (rules.Taint, error) {
	if len(b) > 0 && b[0] == '{' {
		return decodeJSON(b)
	}
	if len(b) == 0 || b[0] < taintVersion1 || b[0] > taintVersion {
		return rules.Taint{}, fmt.Errorf("decode taint: unknown version")
	}
	version := b[0]
	r := pack.NewReader(b[1:])
	t := rules.Taint{Root: r.String(), Source: rules.Source{Entity: r.String(),
		Category: r.String(), List: r.String()}, By: r.String()}
	if n := r.Count(minHopBytes); n > 0 {
		t.Path = make([]rules.Hop, n)
		for i := range t.Path {
			h := &t.Path[i]
			h.Chain = r.String()
			h.Block = r.Uvarint()
			var flags byte
			if version >= taintVersion {
				flags = r.Byte()
			}
			if flags&^(hopHasTime|hopHasTainted) != 0 {
				r.Fail(fmt.Errorf("bad hop flags %#x", flags))
			}
			if flags&hopHasTime != 0 {
				sec, nsec := r.Varint(), r.Uvarint()
				if nsec >= 1e9 {
					r.Fail(fmt.Errorf("bad hop time"))
				}
				h.Time = time.Unix(sec, int64(nsec)).UTC()
			}
			h.Tx, h.Position, h.From = r.String(), r.String(), r.String()
			h.To, h.Asset = r.String(), r.String()
			h.Amount = r.Amount(maxAmountBytes)
			if flags&hopHasTainted != 0 {
				h.Tainted = r.Amount(maxAmountBytes)
			}
		}
	}
	if version >= taintVersion2 {
		t.Amount = readOptAmount(r)
	}
	if version >= taintVersion {
		t.Lots = readLots(r)
		if n := r.Count(minLotBytes); n > 0 {
			t.Holdings = make([]rules.Holding, n)
			for i := range t.Holdings {
				h := &t.Holdings[i]
				h.Asset = r.String()
				h.Balance, h.Tainted = readOptAmount(r), readOptAmount(r)
				h.Lots = readLots(r)
			}
		}
	}
	if err := r.Done(); err != nil {
		return rules.Taint{}, fmt.Errorf("decode taint: %w", err)
	}
	return t, nil
}

func readOptAmount(r *pack.Reader) *big.Int {
	switch r.Byte() {
	case 0:
		return nil
	case 1:
		return r.Amount(maxAmountBytes)
	default:
		r.Fail(fmt.Errorf("bad amount flag"))
		return nil
	}
}

func readLots(r *pack.Reader) []rules.Lot {
	n := r.Count(minLotBytes)
	if n == 0 {
		return nil
	}
	lots := make([]rules.Lot, n)
	for i := range lots {
		switch r.Byte() {
		case 0:
		case 1:
			lots[i].Tainted = true
		default:
			r.Fail(fmt.Errorf("bad lot flag"))
		}
		lots[i].Amount = r.Amount(maxAmountBytes)
	}
	return lots
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
