package main

// Connecting to the config's Redis.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/watcher/config"
)

// newRedis connects to the config's Redis: one server, or a Redis Cluster (redis.cluster:
// the URL names one node, and others as addr= parameters).
func newRedis(ctx context.Context, c config.Redis) (redis.UniversalClient, error) {
	return waitRedis(ctx, c, 0, nil)
}

// redisStartWait is how long the long-running commands (run, serve) wait at start for a
// Redis that is not up yet (refusing connections, or loading its data after a restart):
// so that they may start beside it (a compose file, a host booting), as their loops ride
// out an outage once running. A Redis that answers with an error (a wrong password) fails
// at once.
const redisStartWait = time.Minute

// waitRedis is newRedis, waiting up to wait, and telling log, while Redis is not up yet.
func waitRedis(ctx context.Context, c config.Redis, wait time.Duration,
	log *zap.Logger) (redis.UniversalClient, error) {
	if log == nil {
		log = zap.NewNop()
	}
	credentials := func(user, pass *string) {
		if c.Username != "" {
			*user = c.Username
		}
		if c.Password != "" {
			*pass = c.Password
		}
	}
	var rdb redis.UniversalClient
	var where string
	if c.Cluster {
		opts, err := redis.ParseClusterURL(c.URL)
		if err != nil {
			return nil, fmt.Errorf("redis.url: %w", err)
		}
		credentials(&opts.Username, &opts.Password)
		rdb, where = redis.NewClusterClient(opts), "cluster "+strings.Join(opts.Addrs, ",")
	} else {
		opts, err := redis.ParseURL(c.URL)
		if err != nil {
			return nil, fmt.Errorf("redis.url: %w", err)
		}
		credentials(&opts.Username, &opts.Password)
		rdb, where = redis.NewClient(opts), opts.Addr
	}
	start, pause, told := time.Now(), redisRetryMin, time.Time{}
	for {
		err := rdb.Ping(ctx).Err()
		if err == nil {
			return rdb, nil
		}
		if !notUpYet(err) || time.Since(start)+pause > wait || ctx.Err() != nil {
			rdb.Close()
			return nil, fmt.Errorf("redis at %s: %w", where, err)
		}
		if time.Since(told) >= redisRetryMax {
			log.Warn("waiting for Redis", zap.String("redis", where), zap.Error(err),
				zap.Duration("for at most", wait-time.Since(start)))
			told = time.Now()
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(2*pause, redisRetryMax)
	}
}

// The pauses between tries of a Redis that is not up yet.
const (
	redisRetryMin = 100 * time.Millisecond
	redisRetryMax = 5 * time.Second
)

// notUpYet says whether err is that of a Redis not up yet, rather than one that answers
// with an error: a network error (the connection refused, reset or timed out), the
// connection closed, or the server loading.
func notUpYet(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) ||
		strings.HasPrefix(err.Error(), "LOADING")
}
