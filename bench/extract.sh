#!/usr/bin/env bash
# Benchmark: `flowwatch extract` blocks/s against a bare fetch of the same blocks, on a
# geth --dev node on loopback filled with mixed traffic, measured in the same run.
#
#   bench/extract.sh [BLOCKS] [CONCURRENCY] [ROUNDS]     (defaults: 3000 8 3)
#
# Needs geth v1.16.7 (installed with `go install` if missing). Prints each round and the
# median ratio extract/bare (goal: >= 0.7). Traces are off for the ratio, because the bare
# fetch has none; a traces-on run is printed beside it for information.
set -euo pipefail
cd "$(dirname "$0")/.."
blocks=${1:-3000}
conc=${2:-8}
rounds=${3:-3}
make -s build
. bench/devnode.sh
start_devnode
fill_devnode "$blocks"

ratios=()
for r in $(seq 1 "$rounds"); do
  read -r n bare_s bare_bps < <(bin/extractbench bare -rpc "$url" -from 1 -to "$head" \
    -concurrency "$conc")
  s=$(date +%s%N)
  bin/flowwatch extract --rpc "$url" --from 1 --to "$head" --traces off \
    --concurrency "$conc" >"$work/out.jsonl"
  e=$(date +%s%N)
  ext_s=$(secs "$s" "$e")
  ext_bps=$(python3 -c "print($head/$ext_s)")
  ratio=$(python3 -c "print($ext_bps/$bare_bps)")
  ratios+=("$ratio")
  printf 'round %d: bare %.0f blocks/s, extract %.0f blocks/s (%d movements), ratio %.2f\n' \
    "$r" "$bare_bps" "$ext_bps" "$(wc -l <"$work/out.jsonl")" "$ratio"
done
s=$(date +%s%N)
bin/flowwatch extract --rpc "$url" --from 1 --to "$head" --traces on --concurrency "$conc" \
  >"$work/out-traces.jsonl"
e=$(date +%s%N)
printf 'with traces: extract %.0f blocks/s (%d movements)\n' \
  "$(python3 -c "print($head/$(secs "$s" "$e"))")" "$(wc -l <"$work/out-traces.jsonl")"
median=$(median "${ratios[@]}")
printf 'blocks %d, concurrency %d: median extract/bare ratio %.2f (goal >= 0.70)\n' \
  "$head" "$conc" "$median"
