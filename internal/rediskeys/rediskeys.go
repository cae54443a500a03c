package rediskeys

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// batch is how many deletions one pipeline carries.
const batch = 1000

// Delete deletes every key matching pattern, one key per DEL, pipelined.
func Delete(ctx context.Context, rdb redis.UniversalClient, pattern string) error {
	del := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, pattern, batch).Iterator()
		pipe := c.Pipeline()
		for iter.Next(ctx) {
			pipe.Del(ctx, iter.Val())
			if pipe.Len() == batch {
				if _, err := pipe.Exec(ctx); err != nil {
					return err
				}
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		_, err := pipe.Exec(ctx)
		return err
	}
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, del)
	case *redis.Client:
		return del(ctx, c)
	}
	return fmt.Errorf("delete %s: cannot scan with a %T", pattern, rdb)
}
