package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/flowwatch/flowwatch/internal/redistest"
	"github.com/flowwatch/flowwatch/watcher/config"
)

// TestWaitRedis: flowwatch run and serve wait at start for a Redis not up yet (refusing
// connections, or closing them as one restarting does) and go on once it is up; a Redis
// that answers with an error (a database it does not have) fails at once, as does one
// not up within the wait.
func TestWaitRedis(t *testing.T) {
	opts, err := redis.ParseURL(redistest.StandaloneURL())
	if err != nil {
		t.Fatal(err)
	}
	refused := func(t *testing.T) string { // a port nothing listens on
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		return "redis://" + addr
	}
	tests := []struct {
		name       string
		url        func(t *testing.T, p *redistest.CutProxy) string
		wait       time.Duration
		up         bool // the proxy comes up once the wait was logged
		wantErr    string
		wantWaited bool
	}{
		{name: "up at once", wait: time.Minute,
			url: func(t *testing.T, p *redistest.CutProxy) string {
				p.Down(false)
				return "redis://" + p.Addr()
			}},
		{name: "comes up", wait: time.Minute, up: true, wantWaited: true,
			url: func(t *testing.T, p *redistest.CutProxy) string {
				return "redis://" + p.Addr()
			}},
		{name: "never up", wait: 2 * time.Second, wantErr: "redis at",
			wantWaited: true, url: func(t *testing.T, _ *redistest.CutProxy) string {
				return refused(t)
			}},
		{name: "no wait asked", wantErr: "redis at",
			url: func(t *testing.T, _ *redistest.CutProxy) string { return refused(t) }},
		{name: "answers with an error", wait: time.Minute, wantErr: "DB index",
			url: func(t *testing.T, p *redistest.CutProxy) string {
				p.Down(false)
				return "redis://" + p.Addr() + "/99999"
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := redistest.NewCutProxy(t, opts.Addr)
			p.Down(true)
			url := tt.url(t, p)
			core, logs := observer.New(zap.WarnLevel)
			waited := func() bool { return logs.FilterMessage("waiting for Redis").Len() > 0 }
			if tt.up {
				go func() {
					for deadline := time.Now().Add(20 * time.Second); !waited() &&
						time.Now().Before(deadline); {
						time.Sleep(time.Millisecond) // polling a condition with a deadline
					}
					p.Down(false)
				}()
			}
			rdb, err := waitRedis(context.Background(), config.Redis{URL: url}, tt.wait,
				zap.New(core))
			if tt.wantErr == "" && err != nil || tt.wantErr != "" &&
				(err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if err == nil {
				defer rdb.Close()
				if err := rdb.Ping(context.Background()).Err(); err != nil {
					t.Fatal(err)
				}
			}
			if waited() != tt.wantWaited {
				t.Errorf("waited %v, want %v", waited(), tt.wantWaited)
			}
		})
	}
}
