package ethereum

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/rpc"

	"github.com/flowwatch/flowwatch/chains"
)

// JSON-RPC error codes flowwatch branches on.
const (
	codeMethodNotFound = -32601
	codeInvalidParams  = -32602
	codeInvalidRequest = -32600
)

// errPermanent marks an error that trying again cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return permanentError{err} }

// retryable says whether err may go away if the same request is sent again: timeouts,
// transport errors, HTTP 408/429/5xx, JSON-RPC rate limits and server errors, malformed or
// truncated responses. Not retryable: a missing block, a missing method, invalid params,
// other HTTP 4xx, and cancellation by the caller.
func retryable(err error) bool {
	var perm permanentError
	var httpErr rpc.HTTPError
	var rpcErr rpc.Error
	switch {
	case errors.As(err, &perm), errors.Is(err, chains.ErrBlockNotFound),
		errors.Is(err, context.Canceled):
		return false
	case errors.As(err, &httpErr):
		s := httpErr.StatusCode
		return s == http.StatusTooManyRequests || s == http.StatusRequestTimeout || s >= 500
	case errors.As(err, &rpcErr):
		switch rpcErr.ErrorCode() {
		case codeMethodNotFound, codeInvalidParams, codeInvalidRequest:
			return isRateLimit(err.Error())
		}
		return true
	}
	return true
}

// isBatchLimit: the node (or its provider) refused a JSON-RPC batch for its size (HTTP
// 413, or a message saying so).
func isBatchLimit(err error) bool {
	var httpErr rpc.HTTPError
	if errors.As(err, &httpErr) && httpErr.StatusCode == http.StatusRequestEntityTooLarge {
		return true
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "batch") && (strings.Contains(msg, "too large") ||
		strings.Contains(msg, "too many") || strings.Contains(msg, "limit") ||
		strings.Contains(msg, "exceed"))
}

func isRateLimit(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "rate limit") || strings.Contains(msg, "too many requests") ||
		strings.Contains(msg, "limit exceeded")
}

func isMethodNotFound(err error) bool {
	var rpcErr rpc.Error
	if errors.As(err, &rpcErr) && rpcErr.ErrorCode() == codeMethodNotFound {
		return true
	}
	// Some providers answer unknown methods with a generic code and this text.
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "method not found") ||
		(strings.Contains(msg, "does not exist") && strings.Contains(msg, "method"))
}

// backoff returns the wait before retry number try (0-based): exponential from min, capped
// at max, with jitter drawn from [d/2, d].
func backoff(try int, min, max time.Duration) time.Duration {
	d := min
	for i := 0; i < try && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// withRetry calls f until it succeeds, fails with a permanent error, or has been retried
// retries times (none if negative); it waits between tries and gives up early when ctx ends.
func withRetry(ctx context.Context, retries int, min, max time.Duration,
	f func(context.Context) error) error {
	for try := 0; ; try++ {
		err := f(ctx)
		if err == nil || !retryable(err) || try >= retries || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(backoff(try, min, max))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}
