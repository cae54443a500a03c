// Package streamaudit checks what pollers published against the chain, for the tests and
// the soak run that kill processes: whether a chain's pipeline has settled, and whether
// every movement of a block range is in the stream exactly once; and what alert
// notifications a receiver got, against the blocks that mined their transactions in the
// end (Alerts).
package streamaudit
