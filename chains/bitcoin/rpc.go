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

// client is a caller over btcd's rpcclient in HTTP POST mode. Batches go through batch
// clients of rpcclient's, one per batch in flight, kept for reuse.
type client struct {
	c       *rpcclient.Client
	cfg     *rpcclient.ConnConfig
	host    string // for errors: never the credentials
	batches chan *rpcclient.Client
}

// maxBatchClients bounds the batch clients kept for reuse.
const maxBatchClients = 16

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
	return &client{c: c, cfg: cfg, host: u.Host,
		batches: make(chan *rpcclient.Client, maxBatchClients)}, nil
}

// Close shuts the rpcclient and its batch clients down.
func (c *client) Close() {
	for _, rc := range c.drainBatches() {
		rc.Shutdown()
		rc.WaitForShutdown()
	}
	c.c.Shutdown()
	c.c.WaitForShutdown()
}

func (c *client) drainBatches() []*rpcclient.Client {
	var out []*rpcclient.Client
	for {
		select {
		case rc := <-c.batches:
			out = append(out, rc)
		default:
			return out
		}
	}
}

// CallBatch implements caller: one HTTP request for all the calls, retried whole when the
// node says "later"; errs[i] is call i's own error.
func (c *client) CallBatch(ctx context.Context, method string, params [][]any) (
	[]json.RawMessage, []error, error) {
	raws := make([][]json.RawMessage, len(params))
	for i, ps := range params {
		var err error
		if raws[i], err = marshalParams(ps); err != nil {
			return nil, nil, err
		}
	}
	var rc *rpcclient.Client
	select {
	case rc = <-c.batches:
	default:
		var err error
		if rc, err = rpcclient.NewBatch(c.cfg); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", c.host, err)
		}
	}
	defer func() {
		select {
		case c.batches <- rc:
		default:
			rc.Shutdown()
		}
	}()
	var res []json.RawMessage
	var errs []error
	err := c.retry(ctx, func() (err error) {
		res, errs, err = c.batchOnce(ctx, rc, method, raws)
		return err
	})
	return res, errs, err
}

func (c *client) batchOnce(ctx context.Context, rc *rpcclient.Client, method string,
	raws [][]json.RawMessage) ([]json.RawMessage, []error, error) {
	futures := make([]rpcclient.FutureRawResult, len(raws))
	for i, ps := range raws {
		futures[i] = rc.RawRequestAsync(method, ps)
	}
	type result struct {
		res  []json.RawMessage
		errs []error
	}
	done := make(chan result, 1)
	go func() {
		_ = rc.Send() // a failed batch fails every future with its error
		r := result{res: make([]json.RawMessage, len(futures)),
			errs: make([]error, len(futures))}
		for i, f := range futures {
			r.res[i], r.errs[i] = f.Receive()
		}
		done <- r
	}()
	select {
	case r := <-done:
		for _, err := range r.errs { // the whole batch failed: one error for it
			if err != nil && retryable(err) {
				return nil, nil, err
			}
		}
		return r.res, r.errs, nil
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

// Call implements caller. rpcclient takes no context: a call that ctx ends is abandoned
// (its HTTP request runs out on rpcclient's own timeout).
func (c *client) Call(ctx context.Context, method string, params ...any) (json.RawMessage,
	error) {
	raw, err := marshalParams(params)
	if err != nil {
		return nil, err
	}
	var res json.RawMessage
	err = c.retry(ctx, func() (err error) {
		res, err = c.once(ctx, method, raw)
		return err
	})
	return res, err
}

func marshalParams(params []any) ([]json.RawMessage, error) {
	raw := make([]json.RawMessage, len(params))
	for i, p := range params {
		b, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		raw[i] = b
	}
	return raw, nil
}

// retry runs call until it succeeds, fails for good, or retryAttempts tries passed,
// waiting with exponential backoff and jitter while the node says "later".
func (c *client) retry(ctx context.Context, call func() error) error {
	d := retryMin
	for try := 1; ; try++ {
		err := call()
		if err == nil {
			return nil
		}
		if try == retryAttempts || !retryable(err) {
			return fmt.Errorf("%s: %w", c.host, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
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
