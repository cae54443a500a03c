package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/flowwatch/flowwatch/internal/rediskeys"
)

// DefaultURL is used when REDIS_URL is not set.
const DefaultURL = "redis://127.0.0.1:6379"

// Cluster says whether the tests run against a Redis Cluster (REDIS_CLUSTER_URL).
func Cluster() bool { return os.Getenv("REDIS_CLUSTER_URL") != "" }

// URL returns REDIS_CLUSTER_URL, else REDIS_URL, else DefaultURL.
func URL() string {
	if u := os.Getenv("REDIS_CLUSTER_URL"); u != "" {
		return u
	}
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// StandaloneURL returns REDIS_URL, or DefaultURL: a single server even when the suite runs
// against a cluster (for what takes a plain URL, such as flowwatch demo --redis).
func StandaloneURL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Config is the redis section of a flowwatch config for the test's Redis, with prefix,
// indented two spaces.
func Config(prefix string) string {
	return fmt.Sprintf("  url: %s\n  prefix: %s\n  cluster: %v\n", URL(), prefix, Cluster())
}

// Client returns a client of the test's Redis (a cluster client under
// REDIS_CLUSTER_URL), closed when the test ends; the test fails if no Redis answers.
func Client(t testing.TB) redis.UniversalClient {
	t.Helper()
	var rdb redis.UniversalClient
	if Cluster() {
		opts, err := redis.ParseClusterURL(URL())
		if err != nil {
			t.Fatal(err)
		}
		rdb = redis.NewClusterClient(opts)
	} else {
		opts, err := redis.ParseURL(URL())
		if err != nil {
			t.Fatal(err)
		}
		rdb = redis.NewClient(opts)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v (start one, or set REDIS_URL)", URL(), err)
	}
	return rdb
}

// Prefix returns a fresh key prefix, "fwtest-<random>", and deletes every key under it
// (on every master of a cluster) when the test ends.
func Prefix(t testing.TB, rdb redis.UniversalClient) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "fwtest-" + hex.EncodeToString(b)
	t.Cleanup(func() { _ = rediskeys.Delete(context.Background(), rdb, prefix+":*") })
	return prefix
}

// New returns a client and a fresh prefix.
func New(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	rdb := Client(t)
	return rdb, Prefix(t, rdb)
}
