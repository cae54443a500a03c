#!/usr/bin/env bash
# Benchmark: the screening API over loopback with TRACKED tainted addresses in Redis:
# requests/s, p50 and p99 of GET /v1/addresses (5% tracked addresses, the rest unknown)
# beside /healthz on the same server (the baseline: the stack without a lookup), the
# process's resident memory and Redis's bytes per tracked address; then BenchmarkScreen,
# the in-process screening of one address beside a bare map lookup (goal <= 2x).
#
#   bench/api.sh [TRACKED] [CONNS] [REDIS_URL]   (defaults: 1000000 32 redis://127.0.0.1:6379)
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./bench/apibench -redis "${3:-redis://127.0.0.1:6379}" -tracked "${1:-1000000}" \
  -conns "${2:-32}" -duration 10s
GOMAXPROCS=1 go test -run '^$' -bench BenchmarkScreen -benchtime 2s -count 3 ./watcher/api |
  awk '/^BenchmarkScreen/ { split($1, p, "/"); c = p[2]; sub(/-[0-9]+$/, "", c)
         sum[c] += $3; n[c]++ }
       END { printf "in-process screening %.0f ns, bare map lookup %.0f ns: %.1fx (goal <= 2)\n",
             sum["screen"] / n["screen"], sum["bare"] / n["bare"],
             (sum["screen"] / n["screen"]) / (sum["bare"] / n["bare"]) }'
