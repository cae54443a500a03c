// Package webhook is the sink that POSTs each alert as JSON to an HTTPS endpoint, signed
// with HMAC-SHA256 so that the receiver can tell it came from this flowwatch.
//
// Each request carries:
//
//	Content-Type: application/json
//	X-Flowwatch-Timestamp: <unix seconds>
//	X-Flowwatch-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//	Idempotency-Key: <alert id>:<state>
//
// To verify, recompute the HMAC over the timestamp header, a dot and the raw body with the
// shared secret, compare it in constant time with the signature header, and reject
// timestamps more than a few minutes old (replays). Verify below does exactly that. A
// receiver should drop a repeated Idempotency-Key: delivery is at least once.
//
// 2xx is success; 408, 429 and 5xx are retried; other statuses are refused for good.
// A Sink is safe for concurrent use.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/flowwatch/flowwatch/alerting"
)

var _ alerting.Notifier = (*Sink)(nil)

// Headers.
const (
	HeaderTimestamp   = "X-Flowwatch-Timestamp"
	HeaderSignature   = "X-Flowwatch-Signature"
	HeaderIdempotency = "Idempotency-Key"
)

// DefaultTimeout bounds one delivery.
const DefaultTimeout = 10 * time.Second

// Sink posts alerts to one URL.
type Sink struct {
	url    string
	secret []byte
	client *http.Client
	now    func() time.Time
}

// New returns a sink for url signing with secret; client nil means a client with
// DefaultTimeout; now nil means time.Now.
func New(url string, secret []byte, client *http.Client, now func() time.Time) (*Sink, error) {
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
		return nil, fmt.Errorf("webhook url: want http(s)://, got %q", url)
	}
	if len(secret) == 0 {
		return nil, errors.New("webhook secret: empty")
	}
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	if now == nil {
		now = time.Now
	}
	return &Sink{url: url, secret: secret, client: client, now: now}, nil
}

// Sign returns the signature header value for a body sent at timestamp ts.
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a received request's signature and that its timestamp is within maxAge of
// now.
func Verify(secret []byte, ts, signature string, body []byte, now time.Time,
	maxAge time.Duration) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("bad timestamp %q", ts)
	}
	if age := now.Sub(time.Unix(sec, 0)); age > maxAge || age < -maxAge {
		return fmt.Errorf("timestamp %s is %v from now", ts, age.Round(time.Second))
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature)) {
		return errors.New("bad signature")
	}
	return nil
}

// Notify implements alerting.Notifier: one signed POST per alert.
func (s *Sink) Notify(ctx context.Context, alerts ...alerting.Alert) (bool, error) {
	for i := range alerts {
		if retry, err := s.post(ctx, &alerts[i]); err != nil {
			return retry, err
		}
	}
	return false, nil
}

func (s *Sink) post(ctx context.Context, a *alerting.Alert) (bool, error) {
	body, err := json.Marshal(a)
	if err != nil {
		return false, fmt.Errorf("encode alert %s: %w", a.ID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(s.secret, ts, body))
	req.Header.Set(HeaderIdempotency, a.DedupKey())
	resp, err := s.client.Do(req)
	if err != nil {
		return ctx.Err() == nil, fmt.Errorf("post alert %s: %w", a.ID, redact(err, s.url))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return false, nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return true, fmt.Errorf("post alert %s: %s", a.ID, resp.Status)
	default:
		return false, fmt.Errorf("post alert %s: refused: %s", a.ID, resp.Status)
	}
}

// redact keeps the URL (which may hold a token) out of errors.
func redact(err error, url string) error {
	return errors.New(strings.ReplaceAll(err.Error(), url, "<webhook url>"))
}
