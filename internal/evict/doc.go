// Package evict keeps the order in which keys of a bounded in-memory table were last
// touched, so that the table can drop its oldest entries: by age (older than a window) or
// by count (over a bound). The table keeps, per entry, the stamp Touch returned; an entry
// whose stamp is not the oldest record's was touched again since and stays.
//
// A Queue is not safe for concurrent use.
package evict
