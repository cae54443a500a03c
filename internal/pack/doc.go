// Package pack owns the primitives of flowwatch's compact binary forms (queue entries,
// block records, taint records): uvarint-length-prefixed strings and a [Reader] whose first
// error sticks, so that a decoder reads a whole structure and checks once.
//
// The package is internal: the forms built on it are versioned by their owners.
package pack
