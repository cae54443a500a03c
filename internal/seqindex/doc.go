// Package seqindex keeps a bounded table of recent records without a Go map: a Queue of
// records in arrival order, in reused chunks, and an Index that finds them by the hash of
// their key. The Index is an open-addressing table with linear probing, 8 bytes an entry,
// no pointers for the garbage collector to scan, one cache line read for most lookups.
//
// The records are numbered by a sequence number that only grows, the oldest leaving at the
// queue's head, with fewer than 2^SeqBits of them at a time. An entry packs a tag, the
// hash's top 40 bits (never 0: its top bit is set), and the low SeqBits bits of the
// sequence number of the record it names, which Seq makes whole again from the queue's
// head. A tag is not the key: the caller checks the record that an entry names, so two
// keys with one tag are two entries. Entries deleted are closed up (backward shift), so no
// tombstones lengthen the probes.
//
// The deposit inferrer (watcher/deposit) and the fan-in tracker (watcher/fanin) keep their
// tables of a chain's recent transfers so. Neither a Queue nor an Index is safe for
// concurrent use.
package seqindex
