// Package deposit infers exchange deposit addresses from behaviour, after Victor, "Address
// Clustering Heuristics for Ethereum" (Financial Cryptography 2020): exchanges give each
// customer an address of their own and sweep what arrives there to a hot wallet, so an
// address that forwards what it received to a labelled exchange hot wallet, within a
// window and up to a small difference (the fee the forward paid), is that exchange's
// deposit address. Tainted funds that arrive at such an address alert as reaching the
// exchange before the exchange sweeps them.
//
// An Inferrer watches every transfer of one account chain (EVM). It remembers, per address
// and asset, the last value that arrived in the last Window (at most MaxReceipts of them,
// oldest dropped first); when the address then pays a labelled exchange an amount that
// matches (what arrived, or all that arrived since the address last paid, minus at most the
// asset's Tolerance), Observe returns the inference as taint to store under Key: rules.Taint
// whose Source names the exchange and whose Path is the evidence (the arrival and the
// forward). Storing it with the movement that showed it means a reorg that orphans that
// movement undoes the inference. Label turns the stored inference back into a label.
//
// The receipts outgrow the processor's caches (about 110 MB at the default MaxReceipts),
// so each transfer's reads of its sender's and receiver's arrivals, and the forgetting of
// the oldest, are likely cache misses. Prefetch, given a batch before Observe is given its
// movements one by one, reads all of them ahead in one pass, so that the misses overlap;
// it changes no result.
//
// What arrived is kept in memory. After a restart or a take-over (and when a worker owns
// the chain again after another did) the worker starts a new Inferrer and, before it
// judges anything, gives it the movements judged before, as far back as the queue's stream
// still holds them (about ten thousand blocks); what the stream no longer holds is not
// remembered, and an address whose deposit arrived then and is swept after is not
// inferred from that pair (the next pair infers it). Bitcoin deposit addresses are not
// inferred.
//
// An Inferrer is not safe for concurrent use: the worker that owns a chain calls it from
// one goroutine.
package deposit
