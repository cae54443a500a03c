// Package queue carries movements from the pollers to the rules workers and keeps, with
// them, each chain's cursor: the last block published and the records of recent blocks.
//
// The poller side is the [Journal]: Append publishes one block's movements and moves the
// cursor in one atomic step, guarded by a compare-and-set on the cursor, so that a crash at
// any point neither loses a block nor publishes one twice; Rollback publishes orphaned
// blocks' movements as removed and moves the cursor back to the common ancestor, atomically
// too. The worker side is the [Consumer]: a consumer group per chain, reads with a bounded
// block time, acknowledgement after processing, and reclaiming of a dead worker's entries.
// [Owners] hands each chain to one consumer at a time, for as long as it renews, so that a
// chain's movements are judged in stream order. Acknowledged entries stay until Trim drops
// them; [Redis.Judged] reads them back, for a worker that comes to own a chain to fill its
// learners' memory with what was judged before it.
//
// A stream entry carries up to MaxEntryPayloads movements of one block (a block with more
// spans several entries, in order): reads, acknowledgements, pending-entry bookkeeping and
// trimming are paid per block rather than per movement, which is most of what a movement
// would otherwise cost Redis (bench/pipeline.sh). AppendBlocks publishes several blocks in
// one step during catch-up.
//
// Two implementations pass one conformance suite (package queuetest): [Redis] (Redis
// Streams, one stream per chain, keys hash-tagged by chain for Redis Cluster, Lua scripts
// for the atomic steps) and [Memory] (in process, for the embedded default). Both are safe
// for concurrent use.
package queue
