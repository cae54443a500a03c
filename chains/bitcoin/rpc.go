package bitcoin

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/btcsuite/btcd/rpcclient"
)

// Retry policy for answers that say "later" (HTTP 429 and 5xx); rpcclient itself retries
// connection failures.
const (
	retryAttempts = 6
	retryMin      = 250 * time.Millisecond
	retryMax      = 8 * time.Second
)

// client is a caller over btcd's rpcclient in HTTP POST mode.
type client struct {
	c    *rpcclient.Client
	host string // for errors: never the credentials
}

var _ caller = (*client)(nil)

// Dial connects to the node at rawURL (http://user:pass@host:port; https for TLS) and
// returns a Source over it.
func Dial(ctx context.Context, rawURL string, opts Options) (*Source, error) {
	c, err := newClient(rawURL, opts.Certificates)
	if err != nil {
		return nil, err
	}
	return New(ctx, c, opts)
}

func newClient(rawURL string, certs []byte) (*client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("bitcoin rpc url: want http://user:pass@host:port")
	}
	pass, _ := u.User.Password()
	cfg := &rpcclient.ConnConfig{Host: u.Host + u.Path, User: u.User.Username(), Pass: pass,
		HTTPPostMode: true, DisableTLS: u.Scheme == "http", Certificates: certs}
	c, err := rpcclient.New(cfg, nil)
	if err != nil {
		return nil, fmt.Errorf("bitcoin rpc %s: %w", u.Host, err)
	}
	return &client{c: c, host: u.Host}, nil
}

// Close shuts the rpcclient down.
func (c *client) Close() {
	c.c.Shutdown()
	c.c.WaitForShutdown()
}

// Call implements caller. rpcclient takes no context: a call that ctx ends is abandoned
// (its HTTP request runs out on rpcclient's own timeout).
func (c *client) Call(ctx context.Context, method string, params ...any) (json.RawMessage,
	error) {
	raw := make([]json.RawMessage, len(params))
	for i, p := range params {
		b, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		raw[i] = b
	}
	d := retryMin
	for try := 1; ; try++ {
		res, err := c.once(ctx, method, raw)
		if err == nil || try == retryAttempts || !retryable(err) {
			if err != nil {
				err = fmt.Errorf("%s: %w", c.host, err)
			}
			return res, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(d/2 + rand.N(d/2+1)):
		}
		d = min(2*d, retryMax)
	}
}

func (c *client) once(ctx context.Context, method string, params []json.RawMessage) (
	json.RawMessage, error) {
	type result struct {
		raw json.RawMessage
		err error
	}
	done := make(chan result, 1)
	future := c.c.RawRequestAsync(method, params)
	go func() {
		raw, err := future.Receive()
		done <- result{raw, err}
	}()
	select {
	case r := <-done:
		return r.raw, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// retryable: the node or a proxy in front of it asked to come back later.
func retryable(err error) bool {
	s := err.Error()
	return strings.Contains(s, "status code: 429") || strings.Contains(s, "status code: 5") ||
		strings.Contains(s, "Work queue depth exceeded")
}
