package queue_test

import (
	"testing"

	"github.com/flowwatch/flowwatch/watcher/queue"
	"github.com/flowwatch/flowwatch/watcher/queue/queuetest"
)

func TestMemory(t *testing.T) {
	queuetest.Run(t, func(t *testing.T) queuetest.Queue { return queue.NewMemory(nil) })
}
