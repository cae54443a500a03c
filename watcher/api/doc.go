// Package api is the screening API an exchange calls while a deposit is pending: what
// flowwatch knows of an address (risk level, designations, labels, exposure to watched
// funds with its evidence, payments to watched sources), for one address or a thousand,
// and the registry of the exchange's own deposit addresses, whose tainted deposits alert
// naming the customer; and the screening of a deposit (one transaction's payment to an
// address), which alone asks the chain's node, for the transaction. It answers from the
// lists in memory, the taint store and the registry. openapi.yaml documents it; the tests
// check every answer against it.
//
// Requests to /v1 carry an API key as a bearer token; the config keeps only its SHA-256,
// compared in constant time, with its scopes (read: screening; write: registering) and its
// rate limit (429 with Retry-After past it). Bodies are bounded (413), decoded strictly, and
// every fault is a 4xx whose JSON names the field. /healthz, /readyz and /metrics
// (Prometheus: requests by route and code, latency) are open. A Server is safe for
// concurrent use.
package api
