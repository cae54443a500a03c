// Command soak is the fault and soak run: against a geth --dev node and a Redis with an
// append-only file (fsync always) on loopback, it plays laundering flows and clean payments
// for -duration while killing (SIGKILL) and restarting the flowwatch run processes and
// Redis at random, then lets everything settle and checks that every movement of the
// chain is in the stream exactly once and every expected alert reached the webhook
// receiver under exactly one idempotency key. It prints the figures and exits 1 on any
// loss or duplicate. scripts/soak.sh builds what it needs and runs it.
//
// With -confirmations N the chain waits for N confirmations and the exchange and mixer
// rules raise early warnings: the scout's provisional alerts, each of which must then be
// confirmed (none left open, none retracted unless a reorg orphaned its block).
//
// With -reorgs, after one transaction in twenty, at random, the node's head is set 1 to 4
// blocks back (debug_setHead) and the transactions it dropped are sent again, so that they
// are mined in blocks of other hashes: every alert raised in an orphaned block must then be
// retracted there, once, and confirmed in the block that mined its transaction in the end.
// No fork goes below the sweep of a deposit address that the watched wallet has paid: the
// payment's alert needs the sweep first, and geth's pool may mine orphaned transactions of
// other senders in another order.
//
//	soak -geth PATH -flowwatch PATH [-duration 10m] [-procs 2] [-rate 5] [-seed N]
//	     [-confirmations N] [-reorgs] [-keep]
package main
