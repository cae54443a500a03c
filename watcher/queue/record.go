package queue

import (
	"encoding/binary"
	"encoding/json"
	"errors"

	"github.com/flowwatch/flowwatch/internal/pack"
)

// A block record in Redis (version 1):
//
//	0x01, str hash, str parent hash, uvarint n, n × str payload
//
// where str is a uvarint length and that many bytes. Payloads are binary (the movements'
// wire form), which is why the record is not JSON: a JSON string would replace their invalid
// UTF-8. Records an earlier version wrote as JSON still decode.
const recordVersion = 1

// encodeRecord returns the stored form of a block's record.
func encodeRecord(hash, parent string, payloads [][]byte) []byte {
	size := 16 + len(hash) + len(parent)
	for _, p := range payloads {
		size += len(p) + binary.MaxVarintLen32
	}
	b := make([]byte, 0, size)
	b = append(b, recordVersion)
	b = pack.AppendString(b, hash)
	b = pack.AppendString(b, parent)
	b = binary.AppendUvarint(b, uint64(len(payloads)))
	for _, p := range payloads {
		b = pack.AppendBytes(b, p)
	}
	return b
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
	if len(b) == 0 || b[0] != recordVersion {
		return "", "", nil, errors.New("unknown record version")
	}
	r := pack.NewReader(b[1:])
	hash, parent = r.String(), r.String()
	payloads = make([][]byte, r.Count(1))
	for i := range payloads {
		payloads[i] = r.Bytes()
	}
	if err := r.Done(); err != nil {
		return "", "", nil, err
	}
	return hash, parent, payloads, nil
}
