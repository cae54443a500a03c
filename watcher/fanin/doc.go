// Package fanin remembers, per address of an account chain, who paid it lately: the
// distinct senders within a window, for the fan-in rule (rules.PatternFanIn) to ask, when
// an address pays a watched or followed one, how many senders it pooled first. It is what
// DPRK IT workers' salaries look like on chain: many employers pay many workers, whose
// wages are pooled at one address that pays an attributed one.
//
// A Tracker watches every transfer of its chain and remembers the last MaxPayments of
// them within Window, oldest forgotten first, without a Go map and with no allocation per
// transfer once full (internal/seqindex): each payment is a record in a queue, linked to
// the receiver's payment before it, and an index finds a receiver's latest. Senders reads
// a receiver's payments back from the latest, at most MaxScan of them, and keeps the
// latest payment of each distinct sender, at most MaxSenders. A transfer costs one index
// probe, where a map of receivers to their senders cost a map lookup, an insertion and a
// deletion, and four allocations (BenchmarkObserve: about 0.19 µs against 1.1 µs).
// Prefetch, given a batch before Observe is given its movements, reads the index entries
// they will probe in one pass, so that their cache misses overlap; it changes no result.
//
// What it remembers reaches back the shorter of Window and the time the chain takes to
// make MaxPayments transfers: about five hours of Ethereum mainnet's at the default, well
// short of the fan-in rule's usual 30 days. It is kept in memory: after a restart or a
// take-over (and when a worker owns the chain again after another did) the worker starts a
// new Tracker and gives it the movements judged before, as far back as the queue's stream
// still holds them (about ten thousand blocks). SendersBack, for the rarer payments that
// warrant a node's work (to a listed source), asks the node for the rest of the window:
// the ERC-20 transfers the address received there, by their logs, and the transfers of
// the chain's coin by its traces, where it has trace_filter; where it has not, those the
// Tracker no longer remembers are not counted. What the node told of an address's payments
// is kept (its distinct senders, for the last DefaultLookBacks addresses), so that it is
// asked, the next time, only for the blocks since; a reorg of those blocks drops it.
//
// A Tracker is not safe for concurrent use: the worker that owns a chain calls it from one
// goroutine.
package fanin
