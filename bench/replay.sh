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

# replay_run ARGS... replays blocks 1..head and prints "seconds blocks/s loop-blocks/s":
# the process from start to end (loading the bundled lists included), and the replay loop
# alone as the command reports it ("... in 1.234s").
replay_run() {
  local s e t loop
  s=$(date +%s%N)
  bin/flowwatch replay --rpc "$url" --address "$source_addr" --from 1 --to "$head" \
    --traces off --concurrency "$conc" --out "$work/replay.json" "$@" >"$work/replay.out" \
    2>"$work/replay.err"
  e=$(date +%s%N)
  t=$(secs "$s" "$e")
  loop=$(sed -n 's/.* in \([0-9.]*\)\(m\?s\).*/\1 \2/p' "$work/replay.out" | head -1 |
    awk '{print ($2 == "ms") ? $1/1000 : $1}')
  echo "$t $(python3 -c "print($head/$t)") $(python3 -c "print($head/$loop)")"
}

ratios=()
loops=()
for r in $(seq 1 "$rounds"); do
  read -r n bare_s bare_bps < <(bin/extractbench bare -rpc "$url" -from 1 -to "$head" \
    -concurrency "$conc")
  read -r rep_s rep_bps loop_bps < <(replay_run --no-cache)
  ratio=$(python3 -c "print($rep_bps/$bare_bps)")
  loop=$(python3 -c "print($loop_bps/$bare_bps)")
  ratios+=("$ratio")
  loops+=("$loop")
  printf 'round %d: bare %.0f blocks/s, replay %.0f blocks/s (ratio %.2f), its loop %.0f '\
'blocks/s (ratio %.2f); %s\n' "$r" "$bare_bps" "$rep_bps" "$ratio" "$loop_bps" "$loop" \
    "$(sed -n 2p "$work/replay.out")"
done
printf 'blocks %d, concurrency %d: median replay/bare ratio %.2f, the loop alone %.2f '\
'(goal >= 0.70)\n' "$head" "$conc" "$(median "${ratios[@]}")" "$(median "${loops[@]}")"

read -r cold_s cold_bps _ < <(replay_run --cache-dir "$work/cache" --cache-depth 0)
read -r warm_s warm_bps _ < <(replay_run --cache-dir "$work/cache" --cache-depth 0)
printf 'block cache: cold %.0f blocks/s, warm %.0f blocks/s (%s)\n' "$cold_bps" "$warm_bps" \
  "$(head -1 "$work/replay.out" | sed 's/.*; //')"
read -r scan_s scan_bps _ < <(replay_run --no-cache)
read -r logs_s logs_bps _ < <(replay_run --method logs)
printf 'logs path (tokens only) %.2fs vs scan %.2fs: %.1fx\n' "$logs_s" "$scan_s" \
  "$(python3 -c "print($scan_s/$logs_s)")"
