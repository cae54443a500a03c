#!/usr/bin/env bash
# Runs the kill tests of cmd/flowwatch (TestKillRestart, TestKillRestartReorg and
# TestDepositInferenceAcrossCrash) RUNS times, PAR at once, under the race detector,
# against the Redis at REDIS_URL (default redis://127.0.0.1:6379), and prints how many
# passed. A fault they catch may show once in several runs (a lost deposit inference after
# a take-over showed about once in eight, under load): one CI run rarely sees it. The logs
# of failed runs are kept, and named; exits 1 if any failed.
#
#   scripts/killloop.sh [RUNS] [PAR]   (defaults: 10 2)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
par="${2:-2}"
dir=$(mktemp -d "${TMPDIR:-/tmp}/flowwatch-killloop-XXXXXX")
go test -c -race -o "$dir/kill.test" ./cmd/flowwatch
cd cmd/flowwatch # the tests read their testdata from the package's directory
run() {
  if "$dir/kill.test" -test.run '^(TestKill|TestDepositInferenceAcrossCrash)' -test.count 1 -test.v >"$dir/run-$1.log" 2>&1; then
    rm "$dir/run-$1.log"
    echo pass
  else
    echo "fail: $dir/run-$1.log"
  fi
}
export -f run
export dir
results=$(seq 1 "$runs" | xargs -P "$par" -I{} bash -c 'run {}')
echo "$results" | grep '^fail' || true
failed=$(echo "$results" | grep -c '^fail' || true)
echo "kill tests: $((runs - failed)) of $runs runs passed ($par at once)"
[ "$failed" -eq 0 ] && rm -r "$dir"
[ "$failed" -eq 0 ]
