package alerting

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// RedisLog is the stage that appends every alert it passes, as JSON, to a durable Redis
// stream (the alert log) before passing it on.
type RedisLog struct {
	RDB    redis.UniversalClient
	Stream string // default "fw:alerts:log"
}

// Exec implements Stage.
func (l *RedisLog) Exec(ctx context.Context, alerts ...Alert) ([]Alert, error) {
	stream := l.Stream
	if stream == "" {
		stream = "fw:alerts:log"
	}
	pipe := l.RDB.Pipeline()
	for i := range alerts {
		b, err := json.Marshal(&alerts[i])
		if err != nil {
			return nil, err
		}
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"alert", b}})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("alert log: %w", err)
	}
	return alerts, nil
}
