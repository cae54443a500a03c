#!/usr/bin/env bash
# Fault and soak run: geth --dev and Redis (append-only, fsync always) on loopback,
# laundering flows and clean payments for DURATION while flowwatch run processes and Redis
# are killed (SIGKILL) and restarted at random; then checks that no movement is missing or
# doubled in the stream and every expected alert arrived under exactly one idempotency key.
# Prints the figures; exits 1 on any loss or duplicate.
#
# With CONFIRMATIONS > 0 the chain waits for that many confirmations and the exchange and
# mixer rules raise early warnings (the scout's provisional alerts, run under the same
# faults): each must then be confirmed, none left open or retracted.
#
# With REORGS=1 the node's head is also set 1 to 4 blocks back now and then (debug_setHead)
# and the transactions dropped are sent again: every alert raised in an orphaned block
# must then be retracted there, once, and confirmed in the block that mined it in the end.
#
# A failed run keeps its directory (logs, Redis's files); KEEP=1 keeps a passed one's too.
#
#   [CONFIRMATIONS=0] [REORGS=0] [KEEP=0] scripts/soak.sh [DURATION] [PROCS] [RATE]
#   (defaults: 10m 2 5: flows per second)
#
# Needs geth v1.16.7 (installed with `go install` if missing) and redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
gobin=$(go env GOPATH)/bin
geth=$(command -v geth || echo "$gobin/geth")
if [ ! -x "$geth" ]; then
  echo "installing geth v1.16.7 ..." >&2
  go install github.com/ethereum/go-ethereum/cmd/geth@v1.16.7
fi
make -s build
go build -o bin/soak ./bench/soak
bin/soak -geth "$geth" -flowwatch bin/flowwatch -duration "${1:-10m}" -procs "${2:-2}" \
  -rate "${3:-5}" -confirmations "${CONFIRMATIONS:-0}" -reorgs="${REORGS:-0}" \
  -keep="${KEEP:-0}"
