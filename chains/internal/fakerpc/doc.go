// Package fakerpc is a JSON-RPC 2.0 server for tests: it serves recorded node responses
// and injects the faults a real node cannot be made to show on demand (HTTP 429 and 5xx,
// truncated or garbled bodies, hangs). It answers single and batch requests over HTTP.
//
// A Server is safe for concurrent use.
package fakerpc
