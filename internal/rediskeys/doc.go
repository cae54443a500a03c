// Package rediskeys deletes keys by pattern on a Redis server or on every master of a Redis
// Cluster (where SCAN sees one node's keys, and a DEL of keys of several slots is refused):
// the cleanup of tests, benchmarks and the demo.
package rediskeys
