// Package simnet starts real btcd nodes in simnet, through btcd's integration/rpctest
// harness (an in-memory wallet makes payments), for tests of the Bitcoin source and of the
// pipeline on Bitcoin.
//
// The btcd binary is built once per machine with `go install` of the btcd version in
// go.mod, from the module cache or the module proxy, into the user's cache directory.
package simnet
