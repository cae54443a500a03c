package pack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"math/bits"
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
	b    []byte
	text string // NewTextReader's: what b holds, as a string
	err  error
}

// NewReader returns a Reader over b; values it returns as []byte share b's memory.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// NewTextReader returns a Reader over text whose String returns parts of text instead of
// copies: a decoder that keeps the strings it reads allocates them once, together, at the
// cost of keeping all of text alive while any of them is.
func NewTextReader(text string) *Reader { return &Reader{b: []byte(text), text: text} }

// Err returns the first error, if any.
func (r *Reader) Err() error { return r.err }

// Fail records err as the reader's error unless it already has one.
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// Len returns the number of unread bytes.
func (r *Reader) Len() int { return len(r.b) }

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
func (r *Reader) String() string {
	p := r.Bytes()
	if r.text == "" || len(p) == 0 {
		return string(p)
	}
	end := len(r.text) - len(r.b) // b is text's unread end
	return r.text[end-len(p) : end]
}

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

// Amounts hands out the integers that a decoder reads with AmountIn from shared arrays:
// one allocation for a few integers' headers and one for their digits, where Amount makes
// two per integer. Each integer's digits are capped at its own length, so arithmetic that
// grows one in place allocates anew rather than writing over the next. The zero Amounts is
// ready to use; one that is not safe for concurrent use.
type Amounts struct {
	ints  []big.Int
	words []big.Word
}

// Bytes of a big.Word, and the first arrays' sizes.
const (
	wordBytes    = bits.UintSize / 8
	amountsChunk = 2
	wordsChunk   = 4
)

// AmountIn reads what AppendAmount wrote, of at most maxBytes bytes, into a's arrays.
func (r *Reader) AmountIn(a *Amounts, maxBytes int) *big.Int {
	p := r.Bytes()
	if len(p) > maxBytes {
		r.Fail(fmt.Errorf("amount of %d bytes", len(p)))
		p = nil
	}
	if len(a.ints) == cap(a.ints) {
		a.ints = make([]big.Int, 0, max(amountsChunk, 2*cap(a.ints)))
	}
	n := (len(p) + wordBytes - 1) / wordBytes
	if len(a.words)+n > cap(a.words) {
		a.words = make([]big.Word, 0, max(wordsChunk, 2*cap(a.words), n))
	}
	at := len(a.words)
	a.words = a.words[:at+n]
	ws := a.words[at : at+n : at+n]
	for i, c := range p { // big-endian: the last byte is the least significant
		j := len(p) - 1 - i
		ws[j/wordBytes] |= big.Word(c) << (8 * (j % wordBytes))
	}
	a.ints = append(a.ints, big.Int{})
	z := &a.ints[len(a.ints)-1]
	if n == 0 {
		return z // zero, as big.NewInt(0) is: no digits at all
	}
	return z.SetBits(ws)
}

// Done reports an error if unread bytes remain.
func (r *Reader) Done() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d bytes after the end", len(r.b))
	}
	return r.err
}
