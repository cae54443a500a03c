package pack

import (
	"encoding/binary"
	"errors"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

func TestRoundTrip(t *testing.T) {
	b := AppendString(nil, "chain")
	b = AppendBytes(b, []byte{0, 0xff})
	b, err := AppendAmount(b, big.NewInt(1<<40))
	if err != nil {
		t.Fatal(err)
	}
	b = binary.AppendUvarint(b, 1<<32) // too big for Uint32
	r := NewReader(b)
	if s := r.String(); s != "chain" {
		t.Fatalf("string %q", s)
	}
	if p := r.Bytes(); string(p) != "\x00\xff" {
		t.Fatalf("bytes %q", p)
	}
	if a := r.Amount(8); a.Int64() != 1<<40 {
		t.Fatalf("amount %v", a)
	}
	if v := r.Uint32("index"); v != 0 || r.Err() == nil ||
		!strings.Contains(r.Err().Error(), "index 4294967296 out of range") {
		t.Fatalf("uint32 %d, %v", v, r.Err())
	}
	if _, err := AppendAmount(nil, big.NewInt(-1)); err == nil {
		t.Fatal("negative amount appended")
	}
}

func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name    string
		give    []byte
		read    func(r *Reader)
		wantErr string
	}{
		{"string past the end", []byte{5, 'a'}, func(r *Reader) { _ = r.String() }, "truncated"},
		{"empty varint", nil, func(r *Reader) { _ = r.Varint() }, "truncated"},
		{"no byte", nil, func(r *Reader) { _ = r.Byte() }, "truncated"},
		{"count the rest cannot hold", []byte{3, 0, 0}, func(r *Reader) { _ = r.Count(2) },
			"truncated"},
		{"amount too long", []byte{3, 1, 2, 3}, func(r *Reader) { _ = r.Amount(2) },
			"amount of 3 bytes"},
		{"trailing", []byte{0, 9}, func(r *Reader) { _ = r.String(); _ = r.Done() },
			"1 bytes after the end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(tt.give)
			tt.read(r)
			if err := r.Err(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want %q", err, tt.wantErr)
			}
			// The first error sticks; later reads return zero values.
			first := r.Err()
			if r.String() != "" || r.Uvarint() != 0 || !errors.Is(r.Err(), first) {
				t.Fatal("reads after an error")
			}
		})
	}
}

func TestTextReader(t *testing.T) {
	b := AppendString(nil, "ethereum")
	b = AppendString(b, "")
	b = AppendString(b, "0xabc")
	text := string(b)
	r := NewTextReader(text)
	got := []string{r.String(), r.String(), r.String()}
	if err := r.Done(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"ethereum", "", "0xabc"}; !slices.Equal(got, want) {
		t.Fatalf("strings %q, want %q", got, want)
	}
	// The strings are text's own bytes, not copies.
	if unsafe.StringData(got[2]) != unsafe.StringData(text[len(text)-5:]) {
		t.Fatal("string copied")
	}
	if s := NewTextReader(text[:4]).String(); s != "" {
		t.Fatalf("truncated input read %q", s)
	}
}

func TestAmountIn(t *testing.T) {
	var want []*big.Int
	for _, s := range []string{"0", "1", "255", "256", "18446744073709551615",
		"18446744073709551616", "1000000000000000000000000000000", "7",
		"115792089237316195423570985008687907853269984665640564039457584007913129639935",
		"42", "3", "1000000000000000000", "0", "99"} {
		v, _ := new(big.Int).SetString(s, 10)
		want = append(want, v)
	}
	var b []byte
	for _, v := range want {
		var err error
		if b, err = AppendAmount(b, v); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(b)
	var a Amounts
	var got []*big.Int
	for range want {
		got = append(got, r.AmountIn(&a, 32))
	}
	if err := r.Done(); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i].Cmp(want[i]) != 0 || !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("amount %d: %v, want %v", i, got[i], want[i])
		}
	}
	// Growing one in place leaves the others as they were.
	got[1].Lsh(got[1], 200)
	got[2].Add(got[2], big.NewInt(1))
	if got[2].Int64() != 256 || got[3].Int64() != 256 || got[0].Sign() != 0 ||
		got[1].Cmp(new(big.Int).Lsh(big.NewInt(1), 200)) != 0 {
		t.Fatalf("amounts after arithmetic: %v", got[:4])
	}
}

func TestAmountInTooLong(t *testing.T) {
	b, _ := AppendAmount(nil, new(big.Int).Lsh(big.NewInt(1), 100))
	r := NewReader(b)
	var a Amounts
	if v := r.AmountIn(&a, 8); v.Sign() != 0 || r.Err() == nil ||
		!strings.Contains(r.Err().Error(), "amount of 13 bytes") {
		t.Fatalf("amount %v, error %v", v, r.Err())
	}
}
