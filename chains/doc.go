// Package chains owns the chain-neutral model that every chain source produces and every
// consumer (extract, the watcher, rules, replay) reads: [Movement] and its [Leg]s, the
// [BlockRef] that places a block in a chain, the [Source] interface ("give me block N's
// movements"), and address normalization per chain [Family].
//
// The package does no I/O of its own. [Stream] runs any Source over a block range with a
// bounded number of blocks in flight and delivers the blocks in order.
package chains
