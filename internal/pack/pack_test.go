package pack

import (
	"encoding/binary"
	"errors"
	"math/big"
	"strings"
	"testing"
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
