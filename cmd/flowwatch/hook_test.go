package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/flowwatch/flowwatch/alerting/webhook"
	"github.com/flowwatch/flowwatch/chains/ethereum/devnet"
)

// payloadHook is a webhook receiver that keeps the payloads it is sent; it stops when the
// test ends.
type payloadHook struct {
	*httptest.Server
	mu  sync.Mutex
	got []webhook.Payload
}

func newPayloadHook(t *testing.T) *payloadHook {
	h := &payloadHook{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		h.mu.Lock()
		h.got = append(h.got, p)
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

// wait returns the payloads once there is one at least; it fails the test, saying what
// was awaited, after 30 seconds without.
func (h *payloadHook) wait(t *testing.T, what string) []webhook.Payload {
	t.Helper()
	h.waitFor(t, what, func(webhook.Payload) bool { return true })
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}

// waitFor returns the first payload that ok accepts, once there is one; it fails the test,
// saying what was awaited, after 30 seconds without.
func (h *payloadHook) waitFor(t *testing.T, what string,
	ok func(webhook.Payload) bool) webhook.Payload {
	t.Helper()
	var p webhook.Payload
	waitUntil(t, what, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		i := slices.IndexFunc(h.got, ok)
		if i >= 0 {
			p = h.got[i]
		}
		return i >= 0
	})
	return p
}

// waitUntil waits until cond holds; it fails the test, saying what was awaited, after 30
// seconds without.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("no %s in 30 s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition with a deadline
	}
}

// devChain starts a simulated chain that stops when the test ends.
func devChain(t *testing.T) *devnet.Chain {
	t.Helper()
	chain, err := devnet.Start(devnet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = chain.Close() })
	return chain
}

// hexAddr is an EVM address as flowwatch writes it: lower-case hex.
func hexAddr(a common.Address) string { return strings.ToLower(a.Hex()) }
