package pack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
)

// ErrTruncated is returned when the input ends inside a value.
var ErrTruncated = errors.New("truncated")

// AppendString appends s with its uvarint length.
func AppendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// AppendBytes appends p with its uvarint length.
func AppendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// AppendAmount appends a non-negative integer as length-prefixed big-endian bytes.
func AppendAmount(b []byte, v *big.Int) ([]byte, error) {
	if v == nil || v.Sign() < 0 {
		return nil, fmt.Errorf("amount %v is not a non-negative integer", v)
	}
	n := (v.BitLen() + 7) / 8
	b = binary.AppendUvarint(b, uint64(n))
	start := len(b)
	b = append(b, make([]byte, n)...)
	v.FillBytes(b[start:])
	return b, nil
}

// Reader reads the forms the Append functions write. After the first error every read
// returns a zero value and Err reports that error.
type Reader struct {
	b   []byte
	err error
}

// NewReader returns a Reader over b; values it returns as []byte share b's memory.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err returns the first error, if any.
func (r *Reader) Err() error { return r.err }

// Fail records err as the reader's error unless it already has one.
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = ErrTruncated
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Varint reads a signed varint.
func (r *Reader) Varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = ErrTruncated
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Uint32 reads an unsigned varint that must fit 32 bits; what names it in the error.
func (r *Reader) Uint32(what string) uint32 {
	v := r.Uvarint()
	if v > 1<<32-1 {
		r.Fail(fmt.Errorf("%s %d out of range", what, v))
		return 0
	}
	return uint32(v)
}

// Bytes reads a length-prefixed byte string.
func (r *Reader) Bytes() []byte {
	n := r.Uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = ErrTruncated
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// String reads a length-prefixed string.
func (r *Reader) String() string { return string(r.Bytes()) }

// StringLike reads a length-prefixed string and returns like, without allocating, when they
// are equal: decoders pass the same field of the previous record, which in a batch is
// usually the same (a chain name, a block hash).
func (r *Reader) StringLike(like string) string {
	b := r.Bytes()
	if string(b) == like {
		return like
	}
	return string(b)
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = ErrTruncated
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

// Count reads an element count and checks that the rest of the input could hold that many
// elements of at least minSize bytes each, so that a corrupt count cannot make a decoder
// allocate without bound.
func (r *Reader) Count(minSize int) int {
	n := r.Uvarint()
	if r.err != nil {
		return 0
	}
	if n > uint64(len(r.b)/max(minSize, 1)) {
		r.err = ErrTruncated
		return 0
	}
	return int(n)
}

// Amount reads what AppendAmount wrote, of at most maxBytes bytes.
func (r *Reader) Amount(maxBytes int) *big.Int {
	p := r.Bytes()
	if len(p) > maxBytes {
		r.Fail(fmt.Errorf("amount of %d bytes", len(p)))
	}
	return new(big.Int).SetBytes(p)
}

// Done reports an error if unread bytes remain.
func (r *Reader) Done() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d bytes after the end", len(r.b))
	}
	return r.err
}
