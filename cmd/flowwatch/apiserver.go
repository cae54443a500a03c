package main

// The screening API of a process: the deposit-address registry (which the workers read
// too) and the HTTP server.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/chains"
	"github.com/flowwatch/flowwatch/watcher"
	"github.com/flowwatch/flowwatch/watcher/api"
	"github.com/flowwatch/flowwatch/watcher/config"
	"github.com/flowwatch/flowwatch/watcher/deposit"
	"github.com/flowwatch/flowwatch/watcher/taint"
)

// listsAPI is what both the workers and the API read of the lists.
type listsAPI interface {
	watcher.Lists
	api.Describer
}

// listsAPI returns the lists d provides: live (reloaded) if it has them.
func (d deps) listsAPI() listsAPI {
	if d.live != nil {
		return d.live
	}
	return d.lists
}

// buildRegistry makes the deposit-address registry, in rdb when not nil, kept in sync
// with what other processes register. It holds what rdb holds before it returns: a worker
// that judged a backlog before the first sync would take a registered deposit address for
// a fresh wallet, and the deposit alert, once the entry is acknowledged, would be lost.
func (s *system) buildRegistry(ctx context.Context, cfg *config.Config,
	rdb redis.UniversalClient, log *zap.Logger) (*deposit.Registry, error) {
	reg := deposit.NewRegistry(rdb, redisPrefix(cfg))
	if rdb == nil {
		return reg, nil
	}
	if err := reg.Sync(ctx); err != nil {
		return nil, err
	}
	s.extra = append(s.extra, func(ctx context.Context) error {
		return reg.Run(ctx, 0, func(err error) {
			log.Warn("deposit registry sync", zap.Error(err))
		})
	})
	return reg, nil
}

// buildAPI makes the screening API cfg asks for, if any, listening at once (so that a
// taken port fails the start); it serves when the system runs.
func (s *system) buildAPI(cfg *config.Config, d deps, store api.TaintReader,
	reg *deposit.Registry, rdb redis.UniversalClient) error {
	a := cfg.API
	if a.Listen == "" {
		return nil
	}
	cs := map[string]api.Chain{}
	for _, ch := range cfg.Chains {
		cs[ch.Name] = api.Chain{Family: ch.Family, Network: ch.Network}
	}
	screen, err := api.NewScreener(cs, d.listsAPI(), store, reg, a.Risk, nil)
	if err != nil {
		return err
	}
	if rs, ok := store.(*taint.Redis); ok {
		// Addresses nothing is known of (nearly all) are answered from memory.
		names := make([]string, 0, len(cfg.Chains))
		for _, ch := range cfg.Chains {
			names = append(names, ch.Name)
		}
		idx := taint.NewIndex(rs, names, taint.IndexOptions{Logger: d.log})
		screen.SetIndex(idx)
		s.extra = append(s.extra, idx.Run)
	}
	j := s.journal
	if j == nil && rdb != nil { // flowwatch serve: the log that flowwatch run keeps
		j = alerting.NewRedisJournal(rdb, redisPrefix(cfg), nil)
	}
	var alerts api.AlertFinder
	if j != nil {
		alerts = alerting.NewTxIndex(j)
	}
	var m *prometheus.Registry
	if s.metrics != nil {
		m = s.metrics.reg
	}
	srv, err := api.New(screen, reg, api.Options{Metrics: m, Keys: a.Keys, MaxBody: a.MaxBody,
		MaxBatch: a.MaxBatch, Logger: d.log, Ready: s.ready(rdb, a.MaxLag),
		Deposits: api.NewDeposits(screen, s.nodes, alerts)})
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	ln, err := net.Listen("tcp", a.Listen)
	if err != nil {
		return fmt.Errorf("api.listen: %w", err)
	}
	s.apiAddr = ln.Addr().String()
	s.closers = append(s.closers, func() error { // if it never served
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
		ErrorLog: zap.NewStdLog(d.log)}
	s.extra = append(s.extra, func(ctx context.Context) error {
		d.log.Info("api listening", zap.String("addr", s.apiAddr),
			zap.Bool("tls", a.TLSCert != ""))
		return serveHTTP(ctx, hs, ln, a.TLSCert, a.TLSKey)
	})
	return nil
}

// buildMetrics serves cfg's metrics endpoint, if any: /metrics, /healthz and /readyz.
func (s *system) buildMetrics(cfg *config.Config, rdb redis.UniversalClient) error {
	l := cfg.Metrics.Listen
	if l == "" {
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	ready := s.ready(rdb, cfg.API.MaxLag)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := ready(r.Context()); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	ln, err := net.Listen("tcp", l)
	if err != nil {
		return fmt.Errorf("metrics.listen: %w", err)
	}
	s.metricsAddr = ln.Addr().String()
	s.closers = append(s.closers, func() error {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: zap.NewStdLog(s.log)}
	s.extra = append(s.extra, func(ctx context.Context) error {
		s.log.Info("metrics listening", zap.String("addr", s.metricsAddr))
		return serveHTTP(ctx, hs, ln, "", "")
	})
	return nil
}

// addNode keeps src as chain's node for deposit screening, if it can look transactions up.
func (s *system) addNode(chain string, src chains.Source) {
	n, ok := src.(api.Node)
	if !ok {
		return
	}
	if s.nodes == nil {
		s.nodes = map[string]api.Node{}
	}
	s.nodes[chain] = n
}

// dialNodes connects to cfg's chains' nodes for deposit screening; a chain whose node does
// not answer is left out (its deposits answer 501) with a warning.
func (s *system) dialNodes(ctx context.Context, cfg *config.Config, log *zap.Logger) {
	for _, ch := range cfg.Chains {
		src, err := s.source(ctx, ch, log)
		if err != nil {
			log.Warn("no node for deposit screening", zap.String("chain", ch.Name),
				zap.Error(err))
			continue
		}
		s.addNode(ch.Name, src)
	}
}

// serveHTTP serves on ln until ctx ends, then shuts down within a grace period; it
// returns ctx's error, or the server's.
func serveHTTP(ctx context.Context, hs *http.Server, ln net.Listener, cert, key string) error {
	errc := make(chan error, 1)
	go func() {
		if cert != "" {
			errc <- hs.ServeTLS(ln, cert, key)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("api: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api: %w", err)
	}
	return ctx.Err()
}

// ready is /readyz's check: Redis answers, and every chain's poller reached its node's
// head within maxLag.
func (s *system) ready(rdb redis.UniversalClient, maxLag time.Duration) func(
	context.Context) error {
	return func(ctx context.Context) error {
		var problems []string
		if rdb != nil {
			if err := rdb.Ping(ctx).Err(); err != nil {
				problems = append(problems, "redis: "+err.Error())
			}
		}
		for _, p := range s.pollers {
			st := p.Status()
			switch {
			case st.Standby: // another process publishes the chain, and answers for it
			case st.AtHead.IsZero():
				problems = append(problems, st.Chain+": not at its node's head yet")
			case time.Since(st.AtHead) > maxLag:
				problems = append(problems, fmt.Sprintf("%s: not at its node's head for %s",
					st.Chain, time.Since(st.AtHead).Round(time.Second)))
			}
		}
		if len(problems) > 0 {
			return errors.New(strings.Join(problems, "; "))
		}
		return nil
	}
}
