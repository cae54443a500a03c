package queue_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/queue"
)

// cutProxy forwards TCP connections to a Redis server; armed, it lets the next XREADGROUP
// through and cuts its connection when the reply comes back, so that Redis has handed the
// entries out and the client never learns which (as when Redis is killed at that moment).
type cutProxy struct {
	ln    net.Listener
	to    string
	armed atomic.Bool
}

func newCutProxy(t *testing.T, to string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, to: to}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
	return p
}

func (p *cutProxy) pipe(c net.Conn) {
	r, err := net.Dial("tcp", p.to)
	if err != nil {
		_ = c.Close()
		return
	}
	cut := make(chan struct{})
	go func() { // Redis to the client, unless the reply is to be lost
		buf := make([]byte, 64<<10)
		for {
			n, err := r.Read(buf)
			select {
			case <-cut:
				_, _ = c.Close(), r.Close()
				return
			default:
			}
			if n > 0 {
				_, _ = c.Write(buf[:n])
			}
			if err != nil {
				_ = c.Close()
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if bytes.Contains(bytes.ToUpper(buf[:n]), []byte("XREADGROUP")) &&
				p.armed.CompareAndSwap(true, false) {
				close(cut)
			}
			_, _ = r.Write(buf[:n])
		}
		if err != nil {
			_ = r.Close()
			return
		}
	}
}

// TestRedisReadAfterLostReply: Redis hands entries 1 and 2 out, and the reply is lost. A
// client that retries, as go-redis does by default, reads again and gets 3 and 4: 1 and 2
// sit pending under the consumer, unseen, while it goes on (how the soak run lost an
// alert). The queue reads without retries: its read fails instead, and what was handed
// out is taken over first, in order. (Through a proxy to one server, the standalone one
// also when the suite runs against a cluster.)
func TestRedisReadAfterLostReply(t *testing.T) {
	ctx := context.Background()
	opts, err := redis.ParseURL(redistest.StandaloneURL())
	if err != nil {
		t.Fatal(err)
	}
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
		proxy := newCutProxy(t, opts.Addr)
		o := *opts
		o.Addr = proxy.ln.Addr().String()
		client := redis.NewClient(&o)
		t.Cleanup(func() { _ = client.Close() })
		q := queue.NewRedis(client, queue.RedisOptions{Prefix: redistest.Prefix(t, client)})
		t.Cleanup(func() { _ = q.Close() })
		appendNumbered(t, q, ch, 4)
		if _, err := q.Backlog(ctx, ch); err != nil { // makes the group
			t.Fatal(err)
		}
		proxy.armed.Store(true)
		var ids []string
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
