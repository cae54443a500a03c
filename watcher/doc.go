// Package watcher owns the per-chain poller loop: it follows a chain's head at the
// configured confirmations, publishes each block's movements to the queue together with the
// cursor in one atomic step, detects reorgs by parent hash, walks back to the common ancestor
// and publishes the orphaned blocks' movements as removed before the new branch's.
//
// Exactly one Poller should run per chain; if two do, the journal's compare-and-set on the
// cursor makes each block publish once all the same (the loser re-reads the cursor).
package watcher
