// Package redistest connects tests to the real Redis they run against: REDIS_URL, or
// redis://127.0.0.1:6379 (.ci/run starts one there). A test that needs Redis fails, never
// skips, when none answers. Each test works under a key prefix of its own, deleted after it.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is used when REDIS_URL is not set.
const DefaultURL = "redis://127.0.0.1:6379"

// URL returns REDIS_URL, or DefaultURL.
func URL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Client returns a client of the test's Redis, closed when the test ends; the test fails
// if no Redis answers.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(URL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v (start one, or set REDIS_URL)", URL(), err)
	}
	return rdb
}

// Prefix returns a fresh key prefix, "fwtest-<random>", and deletes every key under it
// when the test ends.
func Prefix(t testing.TB, rdb *redis.Client) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "fwtest-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return prefix
}

// New returns a client and a fresh prefix.
func New(t testing.TB) (*redis.Client, string) {
	t.Helper()
	rdb := Client(t)
	return rdb, Prefix(t, rdb)
}
