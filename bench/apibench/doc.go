// Command apibench measures the screening API over loopback: it fills Redis with -tracked
// tainted addresses (through the taint store, as workers write them), serves the API in
// process, and runs a Go load loop of -conns keep-alive connections for -duration against
// GET /v1/addresses (a mix of -hit percent tracked addresses, the rest unknown), asking
// Redis about every address and then with the taint index in memory (Redis only for
// tracked addresses), and against /healthz (the same server stack answering without a
// lookup: the baseline). It prints requests/s, p50 and p99 of each, their ratio to the
// baseline, the index's build time and size, the process's resident memory and Redis's
// memory per tracked address. bench/api.sh runs it.
//
//	apibench -redis URL -tracked 1000000 -conns 32 -duration 10s
package main
