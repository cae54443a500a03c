package chains

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/flowwatch/flowwatch/internal/pack"
)

// The binary wire form of a Movement (version 1), what the queue and block records hold:
//
//	0x01                          version
//	str chain, str block hash, str parent hash, str tx, str position, str kind
//	uvarint block number, varint time (Unix s), uvarint time (ns), uvarint tx index
//	byte flags (1: removed, 2: event)
//	uvarint n, n × leg (inputs); uvarint n, n × leg (outputs)
//	with flag 2: str event, str event contract, str to chain
//
//	leg: str address, str asset, bytes amount (big-endian, no sign), str prev tx,
//	     uvarint prev index, uvarint index, str script type, byte flags (1: coinbase)
//
// where str and bytes are a uvarint length and that many bytes. It is about half the size
// of the JSON form and decodes an order of magnitude faster, which is what bounds the rules
// workers' throughput (bench/pipeline.sh).
const wireVersion = 1

// maxAmountBytes bounds a decoded amount: 256-bit EVM values need 32 bytes.
const maxAmountBytes = 64

// marshalBinary appends the binary form of m to b.
func marshalBinary(b []byte, m *Movement) ([]byte, error) {
	b = append(b, wireVersion)
	for _, s := range [...]string{m.Chain, m.Block.Hash, m.Block.ParentHash, m.Tx, m.Position,
		string(m.Kind)} {
		b = pack.AppendString(b, s)
	}
	b = binary.AppendUvarint(b, m.Block.Number)
	b = binary.AppendVarint(b, m.Block.Time.Unix())
	b = binary.AppendUvarint(b, uint64(m.Block.Time.Nanosecond()))
	b = binary.AppendUvarint(b, uint64(m.TxIndex))
	var flags byte
	if m.Removed {
		flags |= 1
	}
	if m.Event != "" || m.EventContract != "" || m.ToChain != "" {
		flags |= 2
	}
	b = append(b, flags)
	for _, legs := range [2][]Leg{m.Inputs, m.Outputs} {
		b = binary.AppendUvarint(b, uint64(len(legs)))
		for i := range legs {
			var err error
			if b, err = appendLeg(b, &legs[i]); err != nil {
				return nil, err
			}
		}
	}
	if flags&2 != 0 {
		b = pack.AppendString(b, m.Event)
		b = pack.AppendString(b, m.EventContract)
		b = pack.AppendString(b, m.ToChain)
	}
	return b, nil
}

func appendLeg(b []byte, l *Leg) ([]byte, error) {
	b = pack.AppendString(b, l.Address)
	b = pack.AppendString(b, l.Asset)
	b, err := pack.AppendAmount(b, l.Amount)
	if err != nil {
		return nil, fmt.Errorf("encode movement: %w", err)
	}
	b = pack.AppendString(b, l.PrevTx)
	b = binary.AppendUvarint(b, uint64(l.PrevIndex))
	b = binary.AppendUvarint(b, uint64(l.Index))
	b = pack.AppendString(b, l.ScriptType)
	var flags byte
	if l.Coinbase {
		flags |= 1
	}
	return append(b, flags), nil
}

// minLegBytes is the size of the smallest encoded leg.
const minLegBytes = 8

// readLegs reads a list of legs; like, when not empty, is a list of legs of the previous
// movement whose repeated strings are reused.
func readLegs(r *pack.Reader, like []Leg) []Leg {
	n := r.Count(minLegBytes)
	if n == 0 {
		return nil
	}
	out := make([]Leg, n)
	var likeAsset, likeScript string
	if len(like) > 0 {
		likeAsset, likeScript = like[0].Asset, like[0].ScriptType
	}
	for i := range out {
		l := &out[i]
		l.Address = r.String()
		l.Asset = r.StringLike(likeAsset)
		l.Amount = r.Amount(maxAmountBytes)
		l.PrevTx = r.String()
		l.PrevIndex = r.Uint32("prev index")
		l.Index = r.Uint32("index")
		l.ScriptType = r.StringLike(likeScript)
		flags := r.Byte()
		if flags&^1 != 0 {
			r.Fail(fmt.Errorf("unknown leg flags %#x", flags))
		}
		l.Coinbase = flags&1 != 0
	}
	return out
}

// unmarshalBinary decodes the binary form (b[0] is the version byte). Strings equal to
// like's (the previous movement of a batch, or a zero Movement) are shared with it rather
// than allocated again.
func unmarshalBinary(b []byte, like *Movement) (Movement, error) {
	if b[0] != wireVersion {
		return Movement{}, fmt.Errorf("decode movement: unknown wire version %d", b[0])
	}
	r := pack.NewReader(b[1:])
	var m Movement
	m.Chain = r.StringLike(like.Chain)
	m.Block.Hash = r.StringLike(like.Block.Hash)
	m.Block.ParentHash = r.StringLike(like.Block.ParentHash)
	m.Tx = r.StringLike(like.Tx)
	m.Position = r.StringLike(like.Position)
	m.Kind = Kind(r.StringLike(string(like.Kind)))
	m.Block.Number = r.Uvarint()
	sec := r.Varint()
	nsec := r.Uvarint()
	if nsec >= uint64(time.Second) {
		r.Fail(fmt.Errorf("%d ns out of range", nsec))
	}
	m.Block.Time = time.Unix(sec, int64(nsec)).UTC()
	m.TxIndex = uint(r.Uvarint())
	flags := r.Byte()
	if flags&^3 != 0 {
		r.Fail(fmt.Errorf("unknown flags %#x", flags))
	}
	m.Removed = flags&1 != 0
	m.Inputs = readLegs(r, like.Inputs)
	m.Outputs = readLegs(r, like.Outputs)
	if flags&2 != 0 {
		m.Event = r.StringLike(like.Event)
		m.EventContract = r.String()
		m.ToChain = r.String()
	}
	if err := r.Done(); err != nil {
		return Movement{}, fmt.Errorf("decode movement: %w", err)
	}
	return m, nil
}
