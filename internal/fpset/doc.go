// Package fpset keeps a large set of strings as 64-bit words, a 56-bit fingerprint and
// eight bits of flags each, in one open-addressing table: 8 bytes a slot, no pointers for
// the garbage collector to scan, and one cache line read for most lookups, where a Go map
// keyed by the strings reads the map's slot and then the string it points to.
//
// A member test can say yes wrongly, never no: two strings whose 56-bit fingerprints agree
// are one member. With ten million members, a string outside the set is taken for one
// about once in 2^32 lookups. Callers use it where a wrong yes only costs work (a read of
// the real store), never where it would change an answer.
//
// A Set is not safe for concurrent use.
package fpset
