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
// alert). The queue's client without retries (WithoutRetries) fails the read instead, and
// what was handed out is taken over first, in order.
func TestRedisReadAfterLostReply(t *testing.T) {
	if redistest.Cluster() {
		t.Skip("the proxy speaks to one node")
	}
	ctx := context.Background()
	opts, err := redis.ParseURL(redistest.URL())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name               string
		retries            bool
		wantErr            bool
		wantRead, wantLeft string
	}{
		{name: "go-redis retries", retries: true, wantRead: "3 4", wantLeft: "1 2 3 4"},
		{name: "without retries", wantErr: true, wantRead: "", wantLeft: "1 2"},
	} {
		_, prefix := redistest.New(t)
		proxy := newCutProxy(t, opts.Addr)
		o := *opts
		o.Addr = proxy.ln.Addr().String()
		var client redis.UniversalClient = redis.NewClient(&o)
		t.Cleanup(func() { _ = client.Close() })
		if !tc.retries {
			c, closeC := queue.WithoutRetries(client)
			t.Cleanup(func() { _ = closeC() })
			client = c
		}
		q := queue.NewRedis(client, queue.RedisOptions{Prefix: prefix})
		const ch = "cutchain"
		appendNumbered(t, q, ch, 4)
		if _, err := q.Backlog(ctx, ch); err != nil { // makes the group
			t.Fatal(err)
		}
		proxy.armed.Store(true)
		ms, err := q.Read(ctx, ch, "w", 2, time.Second)
		if (err != nil) != tc.wantErr || payloadsOf(ms) != tc.wantRead {
			t.Errorf("%s: read %q, %v; want %q, error %v", tc.name, payloadsOf(ms), err,
				tc.wantRead, tc.wantErr)
		}
		left, err := q.Claim(ctx, ch, "w", 0, 10) // what is pending, oldest first
		if err != nil {
			t.Fatal(err)
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
