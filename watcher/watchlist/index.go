package watchlist

// index maps one chain's normalized addresses to a small id: lower-case 0x-hex EVM
// addresses by their 20 bytes (a third of the memory of the 42-byte string and its header),
// others by their text. Ids index a table of distinct values, which lists repeat by the
// thousand (one entity and category for many addresses). Not safe for concurrent writes;
// reads are safe once loaded.
type index struct {
	evm   map[[20]byte]uint32
	other map[string]uint32
}

func newIndex() *index {
	return &index{evm: map[[20]byte]uint32{}, other: map[string]uint32{}}
}

func (x *index) len() int { return len(x.evm) + len(x.other) }

func (x *index) get(addr string) (uint32, bool) {
	if k, ok := evmKey(addr); ok {
		id, found := x.evm[k]
		return id, found
	}
	id, found := x.other[addr]
	return id, found
}

func (x *index) put(addr string, id uint32) {
	if k, ok := evmKey(addr); ok {
		x.evm[k] = id
		return
	}
	x.other[addr] = id
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
