package queue

import (
	"encoding/binary"
	"encoding/json"
	"errors"

	"github.com/flowwatch/flowwatch/internal/pack"
)

// A block record in Redis (version 2):
//
//	0x02, str hash, str parent hash, uvarint k, k × str entry
//
// where str is a uvarint length and that many bytes, and each entry is a stream entry's
// encoded payloads (below): the record holds the very bytes the block's entries hold, and
// the append script builds it from them, so that the poller sends each payload once.
// Payloads are binary (the movements' wire form), which is why the record is not JSON: a
// JSON string would replace their invalid UTF-8. Records that earlier versions wrote
// (version 1: 0x01, str hash, str parent, uvarint n, n × str payload; or JSON) still decode.
const (
	recordVersion1 = 1
	recordVersion  = 2
)

// recordHeader is a record's start, up to and including its count of entries; a length
// prefix (entryPrefix) and the entry follow for each entry.
func recordHeader(hash, parent string, entries int) []byte {
	b := make([]byte, 0, 8+len(hash)+len(parent))
	b = append(b, recordVersion)
	b = pack.AppendString(b, hash)
	b = pack.AppendString(b, parent)
	return binary.AppendUvarint(b, uint64(entries))
}

func entryPrefix(entry []byte) []byte { return binary.AppendUvarint(nil, uint64(len(entry))) }

// A stream entry's payloads, field "b" (version 1):
//
//	0x01, uvarint n, n × str payload
//
// Entries an earlier version wrote hold one payload, as is, in field "m".
const entryVersion = 1

// encodeEntry returns the stored form of a stream entry's payloads.
func encodeEntry(payloads [][]byte) []byte {
	size := 1 + binary.MaxVarintLen32
	for _, p := range payloads {
		size += len(p) + binary.MaxVarintLen32
	}
	b := make([]byte, 0, size)
	b = append(b, entryVersion)
	return appendPayloads(b, payloads)
}

func appendPayloads(b []byte, payloads [][]byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(payloads)))
	for _, p := range payloads {
		b = pack.AppendBytes(b, p)
	}
	return b
}

func readPayloads(r *pack.Reader) [][]byte {
	payloads := make([][]byte, r.Count(1))
	for i := range payloads {
		payloads[i] = r.Bytes()
	}
	return payloads
}

// decodeEntry decodes a stream entry's payloads; they share b's memory.
func decodeEntry(b []byte) ([][]byte, error) {
	if len(b) == 0 || b[0] != entryVersion {
		return nil, errors.New("unknown entry version")
	}
	r := pack.NewReader(b[1:])
	payloads := readPayloads(r)
	if err := r.Done(); err != nil {
		return nil, err
	}
	return payloads, nil
}

type legacyRecord struct {
	Hash       string   `json:"hash"`
	ParentHash string   `json:"parent_hash"`
	Payloads   []string `json:"payloads"`
}

// decodeRecord decodes a stored record. Payloads share b's memory.
func decodeRecord(b []byte) (hash, parent string, payloads [][]byte, err error) {
	if len(b) > 0 && b[0] == '{' {
		var r legacyRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return "", "", nil, err
		}
		for _, p := range r.Payloads {
			payloads = append(payloads, []byte(p))
		}
		return r.Hash, r.ParentHash, payloads, nil
	}
	if len(b) == 0 || (b[0] != recordVersion && b[0] != recordVersion1) {
		return "", "", nil, errors.New("unknown record version")
	}
	r := pack.NewReader(b[1:])
	hash, parent = r.String(), r.String()
	if b[0] == recordVersion1 {
		payloads = readPayloads(r)
	} else {
		for k := r.Count(1); k > 0 && r.Err() == nil; k-- {
			ps, err := decodeEntry(r.Bytes())
			if err != nil {
				r.Fail(err)
				break
			}
			payloads = append(payloads, ps...)
		}
	}
	if err := r.Done(); err != nil {
		return "", "", nil, err
	}
	return hash, parent, payloads, nil
}
