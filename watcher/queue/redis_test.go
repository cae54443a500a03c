package queue_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/flowwatch/flowwatch/watcher/queue"
	"github.com/flowwatch/flowwatch/watcher/queue/queuetest"
)

// redisClient connects to REDIS_URL (default redis://127.0.0.1:6379) and fails the test
// when no Redis answers: .ci/run starts one.
func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379"
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v (start one, or set REDIS_URL)", url, err)
	}
	return rdb
}

// testPrefix returns a key prefix of its own for a test and deletes its keys afterwards.
func testPrefix(t *testing.T, rdb *redis.Client) string {
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

func TestRedis(t *testing.T) {
	rdb := redisClient(t)
	queuetest.Run(t, func(t *testing.T) queuetest.Queue {
		return queue.NewRedis(rdb, queue.RedisOptions{Prefix: testPrefix(t, rdb)})
	})
}
