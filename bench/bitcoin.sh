#!/usr/bin/env bash
# Benchmark: Bitcoin extraction against a real btcd in simnet (built by the test harness)
# holding TXS payments, beside a bare fetch of the same blocks (getblockhash + getblock
# verbosity 2, same concurrency, no decoding) in the same run. Prints blocks/s for both,
# inputs/s for extraction (every input resolved to its prevout: output cache, else one
# batched getrawtransaction per block) and the ratio extract/bare.
#
#   bench/bitcoin.sh [TXS] [ROUNDS]     (defaults: 3000 3)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_BTC_TXS=${1:-3000} go test -run '^$' -bench ExtractSimnet -benchtime "${2:-3}x" \
  -timeout 30m ./chains/bitcoin | grep -E '^Benchmark|^ok|FAIL'
