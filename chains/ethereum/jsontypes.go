package ethereum

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// The JSON types below decode one JSON-RPC field each and reject what a correct node never
// sends. They are lenient only where real nodes differ (leading zeros in quantities).

var errNull = errors.New("null")

func unquote(b []byte) (string, error) {
	if bytes.Equal(b, []byte("null")) {
		return "", errNull
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", fmt.Errorf("want a JSON string, got %.40s", b)
	}
	s := string(b[1 : len(b)-1])
	if strings.ContainsAny(s, "\\\"") {
		return "", fmt.Errorf("unexpected escape in %.40q", s)
	}
	return s, nil
}

func hexBody(s string) (string, error) {
	if len(s) < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return "", fmt.Errorf("%.40q: want 0x prefix", s)
	}
	return s[2:], nil
}

// quantity is a JSON-RPC hex quantity that fits 64 bits.
type quantity uint64

func (q *quantity) UnmarshalJSON(b []byte) error {
	s, err := unquote(b)
	if err != nil {
		return err
	}
	body, err := hexBody(s)
	if err != nil {
		return err
	}
	if body == "" || len(body) > 16 {
		return fmt.Errorf("bad quantity %.40q", s)
	}
	v, err := strconv.ParseUint(body, 16, 64)
	if err != nil {
		return fmt.Errorf("bad quantity %.40q", s)
	}
	*q = quantity(v)
	return nil
}

// bigQuantity is a JSON-RPC hex quantity of up to 256 bits.
type bigQuantity struct{ big.Int }

func (q *bigQuantity) UnmarshalJSON(b []byte) error {
	s, err := unquote(b)
	if err != nil {
		return err
	}
	body, err := hexBody(s)
	if err != nil {
		return err
	}
	if body == "" || len(body) > 64 {
		return fmt.Errorf("bad quantity %.40q", s)
	}
	if _, ok := q.SetString(body, 16); !ok {
		return fmt.Errorf("bad quantity %.40q", s)
	}
	return nil
}

// address is a 20-byte EVM address, stored as lower-case 0x-hex.
type address string

func (a *address) UnmarshalJSON(b []byte) error {
	s, err := unquote(b)
	if err != nil {
		return err
	}
	v, err := fixedHex(s, 20)
	if err != nil {
		return fmt.Errorf("bad address: %w", err)
	}
	*a = address(v)
	return nil
}

// hash is a 32-byte hash, stored as lower-case 0x-hex.
type hash string

func (h *hash) UnmarshalJSON(b []byte) error {
	s, err := unquote(b)
	if err != nil {
		return err
	}
	v, err := fixedHex(s, 32)
	if err != nil {
		return fmt.Errorf("bad hash: %w", err)
	}
	*h = hash(v)
	return nil
}

func fixedHex(s string, n int) (string, error) {
	body, err := hexBody(s)
	if err != nil {
		return "", err
	}
	if len(body) != 2*n {
		return "", fmt.Errorf("%.70q: want %d bytes", s, n)
	}
	if _, err := hex.DecodeString(body); err != nil {
		return "", fmt.Errorf("%.70q: not hex", s)
	}
	return "0x" + strings.ToLower(body), nil
}

// data is hex-encoded bytes of any length, possibly "0x".
type data []byte

func (d *data) UnmarshalJSON(b []byte) error {
	s, err := unquote(b)
	if err != nil {
		return err
	}
	body, err := hexBody(s)
	if err != nil {
		return err
	}
	if len(body)%2 != 0 {
		return fmt.Errorf("odd-length data %.40q", s)
	}
	v, err := hex.DecodeString(body)
	if err != nil {
		return fmt.Errorf("bad data %.40q", s)
	}
	*d = v
	return nil
}
