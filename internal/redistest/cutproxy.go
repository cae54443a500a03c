package redistest

import (
	"bytes"
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

// CutProxy forwards TCP connections to a Redis server. Armed with a string, it passes on
// the next request that holds it (upper-cased, as a command name is, or as it is: a key)
// and cuts that connection when Redis replies: Redis has done what was asked and the
// client never learns it, as when Redis or the network fails at that moment. A client
// that retries then sends the same request again. Down, it plays an outage: it closes
// every connection and refuses new ones until it is up again.
type CutProxy struct {
	ln    net.Listener
	to    string
	mu    sync.Mutex
	match []byte // "": disarmed
	down  bool
	conns map[net.Conn]bool // both ends of each connection forwarded
	cuts  atomic.Int32
	wg    sync.WaitGroup // the goroutines forwarding
}

// NewCutProxy starts a proxy to the Redis server at addr (host:port), stopped (its
// connections closed, its goroutines waited for) when the test ends.
func NewCutProxy(t testing.TB, addr string) *CutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &CutProxy{ln: ln, to: addr, conns: map[net.Conn]bool{}}
	t.Cleanup(func() {
		_ = ln.Close()
		p.Down(true)
		p.wg.Wait()
	})
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.pipe(c) })
		}
	})
	return p
}

// Addr is the proxy's address, host:port.
func (p *CutProxy) Addr() string { return p.ln.Addr().String() }

// Arm makes the proxy cut the reply to the next request holding match.
func (p *CutProxy) Arm(match string) {
	p.mu.Lock()
	p.match = []byte(match)
	p.mu.Unlock()
}

// Down starts an outage (down) or ends it.
func (p *CutProxy) Down(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			_ = c.Close()
		}
	}
}

// track adds c to the connections forwarded; false (c closed) when the proxy is down.
func (p *CutProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		_ = c.Close()
		return false
	}
	p.conns[c] = true
	return true
}

func (p *CutProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}

// Cuts is how many replies the proxy has cut.
func (p *CutProxy) Cuts() int { return int(p.cuts.Load()) }

// take reports whether req holds what the proxy is armed with, and disarms it if so.
func (p *CutProxy) take(req []byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.match) == 0 || !(bytes.Contains(req, p.match) ||
		bytes.Contains(bytes.ToUpper(req), p.match)) {
		return false
	}
	p.match = nil
	p.cuts.Add(1)
	return true
}

func (p *CutProxy) pipe(c net.Conn) {
	if !p.track(c) {
		return
	}
	r, err := net.Dial("tcp", p.to)
	if err != nil || !p.track(r) {
		_ = c.Close()
		if r != nil {
			_ = r.Close()
		}
		p.untrack(c)
		return
	}
	defer p.untrack(c, r)
	cut := make(chan struct{})
	var once sync.Once
	p.wg.Go(func() { // Redis to the client, unless the reply is to be lost
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
	})
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if p.take(buf[:n]) {
				once.Do(func() { close(cut) })
			}
			_, _ = r.Write(buf[:n])
		}
		if err != nil {
			_ = r.Close()
			return
		}
	}
}

// CutClient returns a client that reaches the test's standalone Redis (StandaloneURL, even
// when the suite runs against a cluster) through a new CutProxy, with go-redis's default
// retries, and a fresh prefix; the client is closed when the test ends.
func CutClient(t testing.TB) (*redis.Client, *CutProxy, string) {
	t.Helper()
	opts, err := redis.ParseURL(StandaloneURL())
	if err != nil {
		t.Fatal(err)
	}
	p := NewCutProxy(t, opts.Addr)
	opts.Addr = p.Addr()
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v (start one, or set REDIS_URL)", StandaloneURL(), err)
	}
	return rdb, p, Prefix(t, rdb)
}
