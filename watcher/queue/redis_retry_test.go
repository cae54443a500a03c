package queue_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/queue"
)

// TestRedisReadAfterLostReply: Redis hands entries 1 and 2 out, and the reply is lost. A
// client that retries, as go-redis does by default, reads again and gets 3 and 4: 1 and 2
// sit pending under the consumer, unseen, while it goes on (how the soak run lost an
// alert). The queue reads without retries: its read fails instead, and what was handed
// out is taken over first, in order. (Through a proxy to one server, the standalone one
// also when the suite runs against a cluster.)
func TestRedisReadAfterLostReply(t *testing.T) {
	ctx := context.Background()
	const ch = "cutchain"
	for _, tc := range []struct {
		name               string
		queue              bool // the queue's read, else go-redis's own, retrying
		wantErr            bool
		wantRead, wantLeft string
	}{
		{name: "go-redis retries", wantRead: "3 4", wantLeft: "1 2 3 4"},
		{name: "the queue's read", queue: true, wantErr: true, wantRead: "",
			wantLeft: "1 2"},
	} {
		client, proxy, prefix := redistest.CutClient(t)
		q := queue.NewRedis(client, queue.RedisOptions{Prefix: prefix})
		t.Cleanup(func() { _ = q.Close() })
		appendNumbered(t, q, ch, 4)
		if _, err := q.Backlog(ctx, ch); err != nil { // makes the group
			t.Fatal(err)
		}
		proxy.Arm("XREADGROUP")
		var ids []string
		var err error
		if tc.queue {
			ms, rerr := q.Read(ctx, ch, "w", 2, time.Second)
			for _, m := range ms {
				ids = append(ids, m.ID)
			}
			err = rerr
		} else {
			var res []redis.XStream
			res, err = client.XReadGroup(ctx, &redis.XReadGroupArgs{Group: queue.DefaultGroup,
				Consumer: "w", Streams: []string{q.StreamKey(ch), ">"}, Count: 2,
				Block: time.Second}).Result()
			for _, x := range res {
				for _, m := range x.Messages {
					ids = append(ids, m.ID)
				}
			}
		}
		left, cerr := q.Claim(ctx, ch, "w", 0, 10) // what is pending, oldest first
		if cerr != nil {
			t.Fatal(cerr)
		}
		byID := map[string]string{}
		for _, m := range left {
			byID[m.ID] = string(m.Payloads[0])
		}
		var read []string
		for _, id := range ids {
			read = append(read, byID[id])
		}
		if got := strings.Join(read, " "); (err != nil) != tc.wantErr || got != tc.wantRead {
			t.Errorf("%s: read %q, %v; want %q, error %v", tc.name, got, err, tc.wantRead,
				tc.wantErr)
		}
		if got := payloadsOf(left); got != tc.wantLeft {
			t.Errorf("%s: pending %q, want %q", tc.name, got, tc.wantLeft)
		}
	}
}

// payloadsOf is the first payload of each message, in order.
func payloadsOf(ms []queue.Message) string {
	var s []string
	for _, m := range ms {
		s = append(s, string(m.Payloads[0]))
	}
	return strings.Join(s, " ")
}

// TestRedisAppendAfterLostReply: a block's append reaches Redis and its reply is lost;
// go-redis sends it again. The block must be in the stream once, and the append must not
// pass for done twice: the second run finds the tip moved (ErrConflict), on which the
// poller reads the tip again and goes on from the block it appended.
func TestRedisAppendAfterLostReply(t *testing.T) {
	ctx := context.Background()
	const ch = "cutchain"
	client, proxy, prefix := redistest.CutClient(t)
	q := queue.NewRedis(client, queue.RedisOptions{Prefix: prefix})
	t.Cleanup(func() { _ = q.Close() })
	appendNumbered(t, q, ch, 2) // and the script is loaded
	tip, err := q.Tip(ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	proxy.Arm("payload-of-3")
	err = q.Append(ctx, ch, tip, queue.Record{Number: 3, Hash: "3", ParentHash: tip.Hash,
		Payloads: [][]byte{[]byte("payload-of-3")}}, 3)
	if proxy.Cuts() != 1 {
		t.Fatalf("%d replies cut, want 1", proxy.Cuts())
	}
	if !errors.Is(err, queue.ErrConflict) {
		t.Errorf("append whose reply was lost: %v, want ErrConflict", err)
	}
	if got, err := q.Tip(ctx, ch); err != nil || got.Number != 3 || got.Hash != "3" {
		t.Errorf("tip %+v, %v; want block 3", got, err)
	}
	ms, err := q.Read(ctx, ch, "w", 10, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if got := payloadsOf(ms); got != "1 2 payload-of-3" {
		t.Errorf("stream holds %q, want each block once", got)
	}
}
