package taint

import (
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/flowwatch/flowwatch/watcher/rules"
)

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

type wireTaint struct {
	Root     string    `json:"root"`
	Entity   string    `json:"entity"`
	Category string    `json:"category"`
	List     string    `json:"list"`
	Path     []wireHop `json:"path"`
	By       string    `json:"by"`
}

func encode(t rules.Taint) ([]byte, error) {
	w := wireTaint{Root: t.Root, Entity: t.Source.Entity, Category: t.Source.Category,
		List: t.Source.List, By: t.By}
	for _, h := range t.Path {
		w.Path = append(w.Path, wireHop{Chain: h.Chain, Block: h.Block, Tx: h.Tx,
			Position: h.Position, From: h.From, To: h.To, Asset: h.Asset,
			Amount: h.Amount.String()})
	}
	return json.Marshal(&w)
}

func decode(b []byte) (rules.Taint, error) {
	var w wireTaint
	if err := json.Unmarshal(b, &w); err != nil {
		return rules.Taint{}, fmt.Errorf("decode taint: %w", err)
	}
	t := rules.Taint{Root: w.Root, By: w.By, Source: rules.Source{Entity: w.Entity,
		Category: w.Category, List: w.List}}
	for _, h := range w.Path {
		amount, ok := new(big.Int).SetString(h.Amount, 10)
		if !ok {
			return rules.Taint{}, fmt.Errorf("decode taint: bad amount %q", h.Amount)
		}
		t.Path = append(t.Path, rules.Hop{Chain: h.Chain, Block: h.Block, Tx: h.Tx,
			Position: h.Position, From: h.From, To: h.To, Asset: h.Asset, Amount: amount})
	}
	return t, nil
}
