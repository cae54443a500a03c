package watchlist

import (
	"encoding/binary"
	"encoding/hex"
	"hash/maphash"
)

// index maps one chain's normalized addresses to a small id: lower-case 0x-hex EVM
// addresses by their 20 bytes (a third of the memory of the 42-byte string and its header),
// others by their text. Ids index a table of distinct values, which lists repeat by the
// thousand (one entity and category for many addresses).
//
// In front of the maps is a filter, one bit per address hash at filterBits bits per
// address: nearly every address a worker looks up is on no list, and the filter answers
// those from a bit array small enough to stay in the processor's cache, without the map's
// memory accesses (a false positive, about 1 in 16, only costs the map lookup). Not safe
// for concurrent writes; reads are safe once loaded.
type index struct {
	evm    map[[20]byte]uint32
	other  map[string]uint32
	filter []uint64
	seed   maphash.Seed
}

// filterBits is the filter's size in bits per address (at least; a power of two in all).
const filterBits = 16

func newIndex() *index {
	return &index{evm: map[[20]byte]uint32{}, other: map[string]uint32{},
		filter: make([]uint64, 1), seed: maphash.MakeSeed()}
}

func (x *index) len() int { return len(x.evm) + len(x.other) }

func (x *index) get(addr string) (uint32, bool) {
	k, isEVM := evmKey(addr)
	return x.getKey(k, isEVM, addr)
}

// getKey is get of an address already decoded by evmKey.
func (x *index) getKey(k [20]byte, isEVM bool, addr string) (uint32, bool) {
	if !x.maybe(x.hash(k, isEVM, addr)) { // most lookups end here
		return 0, false
	}
	if isEVM {
		id, found := x.evm[k]
		return id, found
	}
	id, found := x.other[addr]
	return id, found
}

// each calls fn with every address held, in its normalized form.
func (x *index) each(fn func(addr string)) {
	for k := range x.evm {
		fn("0x" + hex.EncodeToString(k[:]))
	}
	for a := range x.other {
		fn(a)
	}
}

func (x *index) put(addr string, id uint32) {
	k, isEVM := evmKey(addr)
	if isEVM {
		x.evm[k] = id
	} else {
		x.other[addr] = id
	}
	if x.len()*filterBits > len(x.filter)*64 {
		x.rebuild()
		return
	}
	x.mark(x.hash(k, isEVM, addr))
}

// hash is an address's filter hash: for an EVM address its 20 bytes folded and mixed (the
// bytes are a hash's, but vanity addresses share leading zeros), for others a seeded hash
// of the text.
func (x *index) hash(k [20]byte, isEVM bool, addr string) uint64 {
	if isEVM {
		h := binary.LittleEndian.Uint64(k[:8]) ^ binary.LittleEndian.Uint64(k[8:16])*31 ^
			binary.LittleEndian.Uint64(k[12:20])*0x9e3779b97f4a7c15
		return (h ^ h>>29) * 0xbf58476d1ce4e5b9
	}
	return maphash.String(x.seed, addr)
}

func (x *index) maybe(h uint64) bool {
	h &= uint64(len(x.filter))*64 - 1
	return x.filter[h/64]&(1<<(h%64)) != 0
}

func (x *index) mark(h uint64) {
	h &= uint64(len(x.filter))*64 - 1
	x.filter[h/64] |= 1 << (h % 64)
}

// rebuild sizes the filter for the addresses held (twice what they need, so that growing
// rebuilds it a logarithmic number of times) and marks them all.
func (x *index) rebuild() {
	words := 1
	for words*64 < 2*x.len()*filterBits {
		words *= 2
	}
	x.filter = make([]uint64, words)
	for k := range x.evm {
		x.mark(x.hash(k, true, ""))
	}
	for a := range x.other {
		x.mark(x.hash([20]byte{}, false, a))
	}
}

// evmKey decodes a lower-case 0x-hex address; ok is false for anything else (mixed or
// upper case are not normalized forms, so they cannot be keys either).
func evmKey(addr string) (k [20]byte, ok bool) {
	if len(addr) != 42 || addr[0] != '0' || addr[1] != 'x' {
		return k, false
	}
	bad := byte(0)
	for i := range 20 {
		hi, lo := hexVal[addr[2+2*i]], hexVal[addr[3+2*i]]
		bad |= hi | lo
		k[i] = hi<<4 | lo&0x0f
	}
	return k, bad&0xf0 == 0
}

// hexVal is the value of a lower-case hex digit, 0xff for any other byte.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c - '0'
	}
	for c := byte('a'); c <= 'f'; c++ {
		t[c] = c - 'a' + 10
	}
	return t
}()

// table holds distinct values and gives each an id.
type table[V comparable] struct {
	vals []V
	ids  map[V]uint32
}

func (t *table[V]) id(v V) uint32 {
	if t.ids == nil {
		t.ids = map[V]uint32{}
	}
	if id, ok := t.ids[v]; ok {
		return id
	}
	id := uint32(len(t.vals))
	t.vals = append(t.vals, v)
	t.ids[v] = id
	return id
}
