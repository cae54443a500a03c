#!/usr/bin/env bash
# Benchmark: the screening API over loopback with TRACKED tainted addresses in Redis:
# requests/s, p50 and p99 of GET /v1/addresses (5% tracked addresses, the rest unknown)
# beside /healthz on the same server (the baseline: the stack without a lookup), the
# process's resident memory and Redis's bytes per tracked address, without and with the
# taint index; then BenchmarkScreen, the in-process screening of one address beside a
# bare map lookup (goal <= 2x).
#
#   bench/api.sh [TRACKED] [CONNS] [REDIS_URL]   (defaults: 1000000 32 redis://127.0.0.1:6379)
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./bench/apibench -redis "${3:-redis://127.0.0.1:6379}" -tracked "${1:-1000000}" \
  -conns "${2:-32}" -duration 10s
GOMAXPROCS=1 go test -run '^$' -bench BenchmarkScreen -benchtime 2s -count 3 ./watcher/api |
  awk '/^BenchmarkScreen/ { c = $1; sub(/^BenchmarkScreen\//, "", c); sub(/-[0-9]+$/, "", c)
         sum[c] += $3; n[c]++ }
       END { for (c in sum) avg[c] = sum[c] / n[c]
             printf "in-process screening of an address nothing is known of: %.0f ns, bare " \
               "map lookup %.0f ns: %.1fx (goal <= 2)\n", avg["clean/redis+index"],
               avg["clean/bare"], avg["clean/redis+index"] / avg["clean/bare"]
             printf "95%% unknown, 5%% tracked: with the index %.0f ns (%.1fx), Redis alone " \
               "%.0f ns (%.1fx), a Go map for the store %.0f ns (%.1fx); bare %.0f ns\n",
               avg["mixed/redis+index"], avg["mixed/redis+index"] / avg["mixed/bare"],
               avg["mixed/redis"], avg["mixed/redis"] / avg["mixed/bare"],
               avg["mixed/map-store"], avg["mixed/map-store"] / avg["mixed/bare"],
               avg["mixed/bare"] }'
