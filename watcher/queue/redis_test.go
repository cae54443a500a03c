package queue_test

import (
	"testing"

	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/queue"
	"github.com/flowwatch/flowwatch/watcher/queue/queuetest"
)

func TestRedis(t *testing.T) {
	rdb := redistest.Client(t)
	queuetest.Run(t, func(t *testing.T) queuetest.Queue {
		return queue.NewRedis(rdb, queue.RedisOptions{Prefix: redistest.Prefix(t, rdb)})
	})
}
