package alerting_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/journaltest"
	"github.com/flowwatch/flowwatch/alerting/sinktest"
	"github.com/flowwatch/flowwatch/internal/redistest"
)

func TestMemoryJournal(t *testing.T) {
	journaltest.Run(t, func(t *testing.T) alerting.Journal {
		return &alerting.MemoryJournal{Now: journaltest.Stamp()}
	})
}

func TestRedisJournal(t *testing.T) {
	journaltest.Run(t, func(t *testing.T) alerting.Journal {
		rdb, prefix := redistest.New(t)
		return alerting.NewRedisJournal(rdb, prefix, journaltest.Stamp())
	})
}

// TestVerifyCatches: an entry edited in place, edited with its hash recomputed, deleted,
// or made unreadable each shows in Verify, naming the entry; a truncated tail shows
// against the head hash kept from before.
func TestVerifyCatches(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		tamper func(es []alerting.Entry) []alerting.Entry
		want   string // in the problems; "" for none
	}{
		{"untouched", func(es []alerting.Entry) []alerting.Entry { return es }, ""},
		{"amount edited, hash kept", func(es []alerting.Entry) []alerting.Entry {
			es[2].Body = []byte(strings.Replace(string(es[2].Body),
				`"amount":"1000000000000000000"`, `"amount":"1"`, 1))
			return es
		}, "entry 3: content hashes to"},
		{"amount edited, hash recomputed", func(es []alerting.Entry) []alerting.Entry {
			es[2].Body = []byte(strings.Replace(string(es[2].Body), `"high"`, `"low"`, 1))
			es[2].Hash = alerting.EntryHash(es[2].Prev, es[2].Seq, es[2].Time, es[2].Body)
			return es
		}, "entry 4: prev"},
		{"an entry deleted", func(es []alerting.Entry) []alerting.Entry {
			return append(es[:1], es[2:]...)
		}, "entries 2 to 2 are missing"},
		{"an entry made unreadable", func(es []alerting.Entry) []alerting.Entry {
			es[1].Body = []byte("{not json")
			return es
		}, "entry 2: alert does not decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb, prefix := redistest.New(t)
			j := alerting.NewRedisJournal(rdb, prefix, journaltest.Stamp())
			if _, err := j.Append(ctx, sinktest.Alerts(5)...); err != nil {
				t.Fatal(err)
			}
			es, err := j.Entries(ctx, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			rewrite(t, rdb, j.StreamKey(), tt.tamper(es))
			r, err := alerting.Verify(ctx, j)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(r.Problems, "; ")
			if tt.want == "" && !r.OK() || !strings.Contains(got, tt.want) {
				t.Fatalf("problems %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("a truncated tail shows against the head kept", func(t *testing.T) {
		rdb, prefix := redistest.New(t)
		j := alerting.NewRedisJournal(rdb, prefix, journaltest.Stamp())
		if _, err := j.Append(ctx, sinktest.Alerts(5)...); err != nil {
			t.Fatal(err)
		}
		before, err := alerting.Verify(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		if err := rdb.XDel(ctx, j.StreamKey(), "5-0").Err(); err != nil {
			t.Fatal(err)
		}
		after, err := alerting.Verify(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		if !after.OK() || after.Head != 4 || after.HeadHash == before.HeadHash {
			t.Fatalf("after truncation %+v (before %+v)", after, before)
		}
	})
}

// rewrite replaces the stream with es, as someone with write access to Redis could.
func rewrite(t *testing.T, rdb redis.UniversalClient, stream string, es []alerting.Entry) {
	t.Helper()
	ctx := context.Background()
	if err := rdb.Del(ctx, stream).Err(); err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, ID: itoa(e.Seq) + "-0",
			Values: []any{"seq", itoa(e.Seq), "time", e.Time.UnixNano(), "prev", e.Prev,
				"hash", e.Hash, "alert", e.Body}}).Err()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
