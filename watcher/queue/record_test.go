package queue

import (
	"reflect"
	"strings"
	"testing"
)

func TestRecordCodec(t *testing.T) {
	give := [][]byte{{0x01, 0xff, 0x00}, {}, []byte(`{"chain":"c"}`)}
	b := encodeRecord("0xh", "0xp", give)
	hash, parent, got, err := decodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if hash != "0xh" || parent != "0xp" || !reflect.DeepEqual(got, give) {
		t.Fatalf("got %q %q %q", hash, parent, got)
	}
	for n := range len(b) {
		if _, _, _, err := decodeRecord(b[:n]); err == nil {
			t.Fatalf("a prefix of %d of %d bytes decoded", n, len(b))
		}
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	tests := []struct {
		name    string
		give    []byte
		wantErr string
	}{
		{"empty", nil, "unknown record version"},
		{"version", []byte{7, 0, 0, 0}, "unknown record version"},
		{"trailing", append(encodeRecord("h", "p", nil), 0), "1 bytes after the end"},
		{"huge count", []byte{1, 0, 0, 0xff, 0xff, 0x03}, "truncated"},
		{"bad legacy json", []byte(`{"hash":`), "unexpected end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := decodeRecord(tt.give)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

// An earlier version stored records as JSON; they still decode (a reorg right after an
// upgrade reads them).
func TestDecodeLegacyRecord(t *testing.T) {
	hash, parent, got, err := decodeRecord(
		[]byte(`{"hash":"0xh","parent_hash":"0xp","payloads":["{\"a\":1}"]}`))
	if err != nil || hash != "0xh" || parent != "0xp" || len(got) != 1 ||
		string(got[0]) != `{"a":1}` {
		t.Fatalf("got %q %q %q %v", hash, parent, got, err)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeRecord("0xh", "0xp", [][]byte{{1, 2, 3}, nil}))
	f.Add([]byte(`{"hash":"h","payloads":["x"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		hash, parent, payloads, err := decodeRecord(b)
		if err != nil {
			return
		}
		h2, p2, pl2, err := decodeRecord(encodeRecord(hash, parent, payloads))
		if err != nil || h2 != hash || p2 != parent || len(pl2) != len(payloads) {
			t.Fatalf("re-decode: %v", err)
		}
		for i := range payloads {
			if string(pl2[i]) != string(payloads[i]) {
				t.Fatalf("payload %d changed", i)
			}
		}
	})
}
