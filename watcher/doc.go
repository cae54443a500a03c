// Package watcher will own the per-chain poller loop: cursor, confirmations, reorg rollback
// and publishing movements to the queue (see ../shared/DESIGN.md and the pipeline issue).
// Nothing is built here yet; the chain sources it will poll live in package chains.
package watcher
