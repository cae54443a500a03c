package queuetest

// The suite's cases on blocks: several at once, block records, binary and large payloads,
// rollback.

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/flowwatch/flowwatch/watcher/queue"
)

// testAppendBlocks: AppendBlocks publishes blocks in order as Appends would, all or nothing.
func testAppendBlocks(t *testing.T, q Queue) {
	ctx := context.Background()
	if err := q.AppendBlocks(ctx, chain, queue.Tip{}, []queue.Record{record(1, "1a"),
		record(2, "2a", "2b"), record(3, "3a")}, 3); err != nil {
		t.Fatal(err)
	}
	tip3 := queue.Tip{Number: 3, Hash: "0xh3", Valid: true}
	if tip, _ := q.Tip(ctx, chain); tip != tip3 {
		t.Fatalf("tip %+v, want %+v", tip, tip3)
	}
	// A retried call from the cursor before: nothing is published, not even the block
	// that would follow the cursor.
	err := q.AppendBlocks(ctx, chain, queue.Tip{Number: 2, Hash: "0xh2", Valid: true},
		[]queue.Record{record(3, "dup"), record(4, "dup")}, 3)
	if !errors.Is(err, queue.ErrConflict) {
		t.Fatalf("append blocks on a stale tip: %v, want ErrConflict", err)
	}
	if tip, _ := q.Tip(ctx, chain); tip != tip3 {
		t.Fatalf("tip %+v after a conflict, want %+v", tip, tip3)
	}
	if err := q.AppendBlocks(ctx, chain, tip3, []queue.Record{record(4, "4a"),
		record(5, "5a")}, 3); err != nil {
		t.Fatal(err)
	}
	ms := readAll(t, q, chain, "w", 5)
	wantStrings(t, payloads(t, ms), "1a", "2a", "2b", "3a", "4a", "5a")
	for n, want := range map[uint64]bool{1: false, 2: false, 3: true, 4: true, 5: true} {
		if _, ok, _ := q.Record(ctx, chain, n); ok != want {
			t.Fatalf("record %d kept: %v, want %v (depth 3)", n, ok, want)
		}
	}
}

func testRecords(t *testing.T, q Queue) {
	ctx := context.Background()
	appendBlocks(t, q, chain, 1, 10)
	for n := uint64(1); n <= 10; n++ {
		r, ok, err := q.Record(ctx, chain, n)
		if err != nil {
			t.Fatal(err)
		}
		if ok != (n >= 8) {
			t.Fatalf("record %d kept: %v, want only the last 3 blocks", n, ok)
		}
		if ok {
			if r.Hash != fmt.Sprintf("0xh%d", n) || r.ParentHash != fmt.Sprintf("0xh%d", n-1) {
				t.Fatalf("record %d: %+v", n, r)
			}
			wantStrings(t, payloads(t, toMessages(r.Payloads)), fmt.Sprintf("%da", n),
				fmt.Sprintf("%db", n))
		}
	}
}

// testBinaryPayloads: payloads are bytes, not text: invalid UTF-8, NUL and JSON's specials
// come back unchanged from the stream and from the block record.
func testBinaryPayloads(t *testing.T, q Queue) {
	ctx := context.Background()
	give := [][]byte{{0x01, 0xff, 0x00, 0x80, '"', '\\'}, {}, []byte("{\"x\":1}")}
	rec := queue.Record{Number: 1, Hash: "0xh1", ParentHash: "0xh0", Payloads: give}
	if err := q.Append(ctx, chain, queue.Tip{}, rec, 3); err != nil {
		t.Fatal(err)
	}
	ms := readAll(t, q, chain, "w", 1)
	got, ok, err := q.Record(ctx, chain, 1)
	if err != nil || !ok {
		t.Fatalf("record: %v, %v", ok, err)
	}
	if len(ms[0].Payloads) != len(give) {
		t.Fatalf("stream entry holds %d payloads, want %d", len(ms[0].Payloads), len(give))
	}
	for i, p := range give {
		if string(ms[0].Payloads[i]) != string(p) {
			t.Errorf("stream payload %d: %q, want %q", i, ms[0].Payloads[i], p)
		}
		if string(got.Payloads[i]) != string(p) {
			t.Errorf("record payload %d: %q, want %q", i, got.Payloads[i], p)
		}
	}
}

func toMessages(ps [][]byte) []queue.Message { return []queue.Message{{Payloads: ps}} }

// testLargeBlock: a block with more payloads than an entry holds is published as several
// entries, in order, that each hold at most MaxEntryPayloads; its record holds them all.
func testLargeBlock(t *testing.T, q Queue) {
	ctx := context.Background()
	n := 2*queue.MaxEntryPayloads + 7
	var want []string
	for i := range n {
		want = append(want, fmt.Sprint(i))
	}
	if err := q.Append(ctx, chain, queue.Tip{}, record(1, want...), 3); err != nil {
		t.Fatal(err)
	}
	wantBacklog(t, q, chain, 3)
	ms := readAll(t, q, chain, "w", 3)
	for i, m := range ms {
		if len(m.Payloads) > queue.MaxEntryPayloads {
			t.Fatalf("entry %d holds %d payloads, more than %d", i, len(m.Payloads),
				queue.MaxEntryPayloads)
		}
	}
	wantStrings(t, payloads(t, ms), want...)
	r, ok, err := q.Record(ctx, chain, 1)
	if err != nil || !ok {
		t.Fatalf("record: %v, %v", ok, err)
	}
	wantStrings(t, payloads(t, toMessages(r.Payloads)), want...)
}

func testRollback(t *testing.T, q Queue) {
	ctx := context.Background()
	appendBlocks(t, q, chain, 1, 5)
	tip5 := queue.Tip{Number: 5, Hash: "0xh5", Valid: true}
	tip3 := queue.Tip{Number: 3, Hash: "0xh3", Valid: true}
	if err := q.Rollback(ctx, chain, tip3, tip3, nil); !errors.Is(err, queue.ErrConflict) {
		t.Fatalf("rollback on a stale tip: %v, want ErrConflict", err)
	}
	if err := q.Rollback(ctx, chain, tip5, tip3, [][]byte{[]byte("-5b"), []byte("-5a"),
		[]byte("-4b"), []byte("-4a")}); err != nil {
		t.Fatal(err)
	}
	if tip, _ := q.Tip(ctx, chain); tip != tip3 {
		t.Fatalf("tip after rollback %+v, want %+v", tip, tip3)
	}
	for n := uint64(4); n <= 5; n++ {
		if _, ok, _ := q.Record(ctx, chain, n); ok {
			t.Fatalf("record %d of an orphaned block kept", n)
		}
	}
	if _, ok, _ := q.Record(ctx, chain, 3); !ok {
		t.Fatal("record 3 of the common ancestor lost")
	}
	// The new branch continues from the ancestor.
	if err := q.Append(ctx, chain, tip3, record(4, "4'"), 3); err != nil {
		t.Fatal(err)
	}
	ms := readAll(t, q, chain, "w", 7) // 5 blocks, the rollback, the new block 4
	wantStrings(t, payloads(t, ms), "1a", "1b", "2a", "2b", "3a", "3b", "4a", "4b", "5a", "5b",
		"-5b", "-5a", "-4b", "-4a", "4'")
	// Back to nothing at all.
	tip4 := queue.Tip{Number: 4, Hash: "0xh4", Valid: true}
	if err := q.Rollback(ctx, chain, tip4, queue.Tip{}, nil); err != nil {
		t.Fatal(err)
	}
	if tip, _ := q.Tip(ctx, chain); tip.Valid {
		t.Fatalf("tip %+v after rolling back everything", tip)
	}
}
