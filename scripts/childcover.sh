#!/usr/bin/env bash
# Statement coverage of the whole suite, counting what the tests' child processes run: the
# tests of cmd/flowwatch that start `flowwatch run` or `serve` as a child (the exchange
# journey, the heartbeat, serve, the kill tests) run the test binary again as the command,
# and with GOCOVERDIR set each child writes its counters as it exits (a SIGKILLed one
# writes none). `go test -coverprofile` counts only the test processes: it points each
# test binary's GOCOVERDIR at a directory of its own, which the children's counters never
# reach. So cmd/flowwatch's test binary is built and run here directly, and its counters
# merged with the other packages' profile. Prints the total and the functions that nothing
# reached (test helpers and bench tools left out); writes the merged profile to OUT
# (default /tmp/flowwatch-cover.out). About 12 minutes.
#
#   [OUT=/tmp/flowwatch-cover.out] scripts/childcover.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-/tmp/flowwatch-cover.out}"
dir=$(mktemp -d "${TMPDIR:-/tmp}/flowwatch-cover-XXXXXX")
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/counters"
others=$(go list ./... | grep -v '/cmd/flowwatch$')
# shellcheck disable=SC2086
go test -count=1 -timeout 25m -coverpkg=./... -coverprofile="$dir/others.out" $others \
  >"$dir/others.log" 2>&1 || { tail -30 "$dir/others.log"; exit 1; }
go test -c -cover -coverpkg=./... -o "$dir/cmd.test" ./cmd/flowwatch
(cd cmd/flowwatch && GOCOVERDIR="$dir/counters" "$dir/cmd.test" -test.count=1 \
  -test.timeout=25m -test.gocoverdir="$dir/counters" >"$dir/cmd.log" 2>&1) ||
  { tail -30 "$dir/cmd.log"; exit 1; }
go tool covdata textfmt -i="$dir/counters" -o "$dir/cmd.out"
# One line per block, covered if any run covered it (the profiles repeat blocks).
awk 'FNR == 1 { next }
  { k = $1 " " $2; if (!(k in c)) { keys[++n] = k; c[k] = 0 } if ($3 > 0) c[k] = 1 }
  END { print "mode: set"; for (i = 1; i <= n; i++) print keys[i], c[keys[i]] }' \
  "$dir/others.out" "$dir/cmd.out" >"$out"
go tool cover -func="$out" | tail -1
echo "functions no test reached:"
go tool cover -func="$out" |
  grep -v -E 'bench/|simnet|anviltest|bitcointest|devnet|journaltest|sinktest|queuetest|redistest|testtool|streamaudit' |
  awk '$3 == "0.0%" { print "  " $1 " " $2 }'
