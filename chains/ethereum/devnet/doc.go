// Package devnet runs an in-process Ethereum development chain that serves JSON-RPC over
// HTTP on loopback, for tests and for `flowwatch demo`. Blocks are made only when asked
// (Commit), and the chain can be forked to show reorgs.
//
// Two flavours: go-ethereum's simulated backend (ethclient/simulated), and, with
// Options.Tracers, the same node assembled here with the debug tracing API registered, which
// the simulated backend lacks, so that callTracer traces (internal transfers) are served.
//
// A Chain's methods are safe for concurrent use; Send and Commit are serialized.
package devnet
