package webhook

import (
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
	"time"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/internal/post"
)

var _ alerting.Notifier = (*Sink)(nil)

// Headers.
const (
	HeaderTimestamp   = "X-Flowwatch-Timestamp"
	HeaderSignature   = "X-Flowwatch-Signature"
	HeaderIdempotency = "Idempotency-Key"
)

// PayloadVersion is the Payload's version.
const PayloadVersion = 2

// Payload is the body of a request: one notification.
type Payload struct {
	Version  int                `json:"version"`
	Key      string             `json:"key"`
	Incident *alerting.Incident `json:"incident,omitempty"`
	Alerts   []alerting.Alert   `json:"alerts"`
}

// Sink posts notifications to one URL.
type Sink struct {
	url    string
	secret []byte
	client *http.Client
	now    func() time.Time
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

// ErrUnverified marks a request that Receive refused for its signature or timestamp: not
// to be trusted (a receiver answers 401), where any other error of Receive is a body that
// could not be read or decoded (400).
var ErrUnverified = errors.New("request not verified")

// Receive reads a received request's body, verifies it (Verify) and decodes its Payload:
// what a receiver does with each request, before it drops a repeated Idempotency-Key.
func Receive(r *http.Request, secret []byte, now time.Time, maxAge time.Duration) (Payload,
	error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return Payload{}, fmt.Errorf("read body: %w", err)
	}
	if err := Verify(secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature),
		body, now, maxAge); err != nil {
		return Payload{}, fmt.Errorf("%w: %w", ErrUnverified, err)
	}
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil {
		return Payload{}, fmt.Errorf("decode payload: %w", err)
	}
	return p, nil
}

// ErrorStatus is the HTTP status a receiver answers a request that Receive refused with
// err: 401 if it did not verify, else 400.
func ErrorStatus(err error) int {
	if errors.Is(err, ErrUnverified) {
		return http.StatusUnauthorized
	}
	return http.StatusBadRequest
}

// NewPayload is the payload of a notification: its alerts share the incident, told once.
func NewPayload(alerts ...alerting.Alert) Payload {
	p := Payload{Version: PayloadVersion, Alerts: make([]alerting.Alert, len(alerts))}
	for i, a := range alerts {
		if p.Incident == nil {
			p.Incident = a.Incident
		}
		a.Incident = nil
		p.Alerts[i] = a
	}
	if len(alerts) > 0 {
		p.Key = alerts[0].NotificationKey()
	}
	return p
}

// AlertsWithIncident returns the payload's alerts with their incident, as the sink was
// given them.
func (p *Payload) AlertsWithIncident() []alerting.Alert {
	out := make([]alerting.Alert, len(p.Alerts))
	for i, a := range p.Alerts {
		a.Incident = p.Incident
		out[i] = a
	}
	return out
}

// Notify implements alerting.Notifier: one signed POST for the notification.
func (s *Sink) Notify(ctx context.Context, alerts ...alerting.Alert) (bool, error) {
	if len(alerts) == 0 {
		return false, nil
	}
	p := NewPayload(alerts...)
	body, err := json.Marshal(&p)
	if err != nil {
		return false, fmt.Errorf("encode notification %s: %w", p.Key, err)
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	h := http.Header{}
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, Sign(s.secret, ts, body))
	h.Set(HeaderIdempotency, p.Key)
	return post.JSON(ctx, s.client, s.url, json.RawMessage(body), h,
		"post notification "+p.Key, string(s.secret))
}
