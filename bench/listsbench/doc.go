// Command listsbench measures the watchlist lookup structure against a bare
// map[[20]byte]struct{} in the same run: N synthetic EVM addresses loaded into each, resident
// bytes per address (heap after a GC) and lookup ns (half hits, half misses). flowwatch
// looks up the normalized hex string the workers hold; the bare map is timed both on the
// same strings (decoded with encoding/hex, then looked up) and on the 20 bytes already
// decoded. Goal: at most 2× the time and 1.2× the memory.
//
//	listsbench -n 10000000
package main
