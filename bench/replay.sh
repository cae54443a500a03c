#!/usr/bin/env bash
# Benchmark: `flowwatch replay` blocks/s against a bare fetch of the same blocks, on a geth
# --dev node on loopback filled with mixed traffic, measured in the same run; then the
# on-disk block cache (cold and warm) and the eth_getLogs path against the scan.
#
#   bench/replay.sh [BLOCKS] [CONCURRENCY] [ROUNDS]     (defaults: 3000 8 3)
#
# The replay follows one of the filling accounts: its funds reach every account of the
# traffic within a few hops, so that most movements are judged with taint (a worst case
# for the rules). Traces are off, as the bare fetch has none. Prints each round and the
# median ratio replay/bare (goal: >= 0.7).
set -euo pipefail
cd "$(dirname "$0")/.."
blocks=${1:-3000}
conc=${2:-8}
rounds=${3:-3}
make -s build
. bench/devnode.sh
start_devnode
fill_devnode "$blocks"
source_addr=$(bin/extractbench key -i 0)

# replay_run NAME ARGS... replays blocks 1..head and prints "seconds blocks/s".
replay_run() {
  local s e t
  s=$(date +%s%N)
  bin/flowwatch replay --rpc "$url" --address "$source_addr" --from 1 --to "$head" \
    --traces off --concurrency "$conc" --out "$work/replay.json" "$@" >"$work/replay.out"
  e=$(date +%s%N)
  t=$(secs "$s" "$e")
  echo "$t $(python3 -c "print($head/$t)")"
}

ratios=()
for r in $(seq 1 "$rounds"); do
  read -r n bare_s bare_bps < <(bin/extractbench bare -rpc "$url" -from 1 -to "$head" \
    -concurrency "$conc")
  read -r rep_s rep_bps < <(replay_run --no-cache)
  ratio=$(python3 -c "print($rep_bps/$bare_bps)")
  ratios+=("$ratio")
  printf 'round %d: bare %.0f blocks/s, replay %.0f blocks/s, ratio %.2f (%s)\n' \
    "$r" "$bare_bps" "$rep_bps" "$ratio" "$(sed -n 2p "$work/replay.out")"
done
printf 'blocks %d, concurrency %d: median replay/bare ratio %.2f (goal >= 0.70)\n' \
  "$head" "$conc" "$(median "${ratios[@]}")"

read -r cold_s cold_bps < <(replay_run --cache-dir "$work/cache" --cache-depth 0)
read -r warm_s warm_bps < <(replay_run --cache-dir "$work/cache" --cache-depth 0)
printf 'block cache: cold %.0f blocks/s, warm %.0f blocks/s (%s)\n' "$cold_bps" "$warm_bps" \
  "$(head -1 "$work/replay.out" | sed 's/.*; //')"
read -r scan_s scan_bps < <(replay_run --no-cache)
read -r logs_s logs_bps < <(replay_run --method logs)
printf 'logs path (tokens only) %.2fs vs scan %.2fs: %.1fx\n' "$logs_s" "$scan_s" \
  "$(python3 -c "print($scan_s/$logs_s)")"
