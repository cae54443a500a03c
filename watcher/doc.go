// Package watcher owns the per-chain poller loop: it follows a chain's head at the
// configured confirmations, publishes each block's movements to the queue together with the
// cursor in one atomic step, detects reorgs by parent hash, walks back to the common ancestor
// and publishes the orphaned blocks' movements as removed before the new branch's.
//
// Exactly one Poller should run per chain; if two do, the journal's compare-and-set on the
// cursor makes each block publish once all the same (the loser re-reads the cursor).
//
// It also owns the rules Worker: it reads a chain's movements from the queue, judges them
// against shared taint with the rules, records taint and hands alerts to the alerting
// pipeline, then acknowledges. Of several workers, the one that owns a chain (queue.Owners)
// processes it, so that hops are judged in stream order; see Worker for the contract. The
// owner keeps a set of the addresses that hold taint or are listed, read from the store when
// it comes to own the chain, and asks the store only about those (taintCache). Per chain it
// also keeps, in memory, what arrived lately at each address, to infer exchange
// deposit addresses (package deposit) and to count the senders a fan-in rule asks about
// (package fanin); what they conclude is stored with the taint, so it is undone with it.
// A worker that comes to own a chain gives these learners, new, the movements judged before
// it that the stream still holds, before it judges anything (warm), so that a restart or a
// take-over leaves no hole in what they remember.
//
// Beside them: a Scout per chain raises provisional alerts (early warning) on the blocks
// not yet published, writing nothing to the store, and retracts them when a reorg removes
// their block first; a Heartbeat tells a sink that the pipeline is alive and raises an
// alert when a chain's poller stops reaching its node's head. Each is a Run(ctx) loop.
package watcher
