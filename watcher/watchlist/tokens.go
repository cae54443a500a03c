package watchlist

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/flowwatch/flowwatch/chains"
)

// Token is an ERC-20 token's metadata, for showing its amounts as people read them.
type Token struct {
	ChainID  uint64
	Address  string // normalized
	Symbol   string
	Decimals int
}

// tokenHeader is the header of a token list: configs/tokens/tokens.csv, derived from the
// Uniswap default token list (see configs/SOURCES.md).
var tokenHeader = []string{"chain_id", "list_file", "symbol", "name", "address", "decimals"}

// ReadTokens reads a token list (CSV with tokenHeader's columns). A row that does not
// parse (a chain id, an address, decimals from 0 to 36) is rejected with its line; the
// rest is read.
func ReadTokens(name string, r io.Reader) ([]Token, []Rejection, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(tokenHeader)
	head, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: header: %w", name, err)
	}
	for i, h := range tokenHeader {
		if head[i] != h {
			return nil, nil, fmt.Errorf("%s: header column %d is %q, want %q", name, i+1,
				head[i], h)
		}
	}
	var out []Token
	var bad []Rejection
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, bad, nil
		}
		if err != nil {
			var perr *csv.ParseError
			if errors.As(err, &perr) && perr.Err == csv.ErrFieldCount {
				bad = append(bad, Rejection{File: name, Line: perr.StartLine,
					Reason: err.Error()})
				continue
			}
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		t, err := tokenOf(rec)
		if err != nil {
			bad = append(bad, Rejection{File: name, Line: line, Address: rec[4],
				Reason: err.Error()})
			continue
		}
		out = append(out, t)
	}
}

func tokenOf(rec []string) (Token, error) {
	id, err := strconv.ParseUint(rec[0], 10, 64)
	if err != nil || id == 0 {
		return Token{}, fmt.Errorf("chain_id %q: want a positive integer", rec[0])
	}
	addr, err := chains.NormalizeEVM(rec[4])
	if err != nil {
		return Token{}, fmt.Errorf("address: %w", err)
	}
	dec, err := strconv.Atoi(rec[5])
	if err != nil || dec < 0 || dec > 36 {
		return Token{}, fmt.Errorf("decimals %q: want 0 to 36", rec[5])
	}
	if rec[2] == "" {
		return Token{}, errors.New("symbol: empty")
	}
	return Token{ChainID: id, Address: addr, Symbol: rec[2], Decimals: dec}, nil
}
