package queue

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/flowwatch/flowwatch/internal/pack"
	"github.com/flowwatch/flowwatch/internal/redistest"
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

func TestEntryCodec(t *testing.T) {
	give := [][]byte{{0x01, 0xff, 0x00}, {}, []byte(`{"chain":"c"}`)}
	b := encodeEntry(give)
	got, err := decodeEntry(b)
	if err != nil || !reflect.DeepEqual(got, give) {
		t.Fatalf("got %q, %v", got, err)
	}
	for n := range len(b) {
		if _, err := decodeEntry(b[:n]); err == nil {
			t.Fatalf("a prefix of %d of %d bytes decoded", n, len(b))
		}
	}
	if _, err := decodeEntry(append(b, 0)); err == nil {
		t.Fatal("trailing bytes decoded")
	}
}

func FuzzDecodeEntry(f *testing.F) {
	f.Add(encodeEntry([][]byte{{1, 2, 3}, nil}))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		payloads, err := decodeEntry(b)
		if err != nil {
			return
		}
		again, err := decodeEntry(encodeEntry(payloads))
		if err != nil || !reflect.DeepEqual(again, payloads) {
			t.Fatalf("re-decode: %q, %v", again, err)
		}
	})
}

// The append script builds the record from the entries it publishes; it must come out as
// encodeRecord says, for blocks of every size around an entry's capacity.
func TestAppendScriptBuildsTheRecord(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	q := NewRedis(rdb, RedisOptions{Prefix: prefix})
	tip := Tip{}
	for i, n := range []int{0, 1, MaxEntryPayloads, MaxEntryPayloads + 1, 3 * MaxEntryPayloads} {
		rec := Record{Number: uint64(i), Hash: fmt.Sprint("h", i), ParentHash: fmt.Sprint("p", i)}
		for j := range n {
			rec.Payloads = append(rec.Payloads, []byte{byte(j), 0xff, byte(j >> 8)})
		}
		if err := q.Append(ctx, "c", tip, rec, 10); err != nil {
			t.Fatal(err)
		}
		tip = rec.Tip()
		got, err := rdb.Get(ctx, q.recordKey("c", rec.Number)).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if want := encodeRecord(rec.Hash, rec.ParentHash, rec.Payloads); !bytes.Equal(got, want) {
			t.Fatalf("block of %d payloads: record %x, want %x", n, got, want)
		}
	}
}

// Records version 1 wrote (payloads listed one by one) still decode.
func TestDecodeRecordVersion1(t *testing.T) {
	b := []byte{recordVersion1, 2, 'h', 'h', 1, 'p', 2, 1, 'x', 0}
	hash, parent, got, err := decodeRecord(b)
	if err != nil || hash != "hh" || parent != "p" || len(got) != 2 || string(got[0]) != "x" ||
		len(got[1]) != 0 {
		t.Fatalf("got %q %q %q %v", hash, parent, got, err)
	}
}

// encodeRecord returns the stored form of a block's record, as the append script builds it:
// the reference the script's output is checked against.
func encodeRecord(hash, parent string, payloads [][]byte) []byte {
	cs := chunks(payloads)
	b := recordHeader(hash, parent, len(cs))
	for _, c := range cs {
		b = pack.AppendBytes(b, encodeEntry(c))
	}
	return b
}
