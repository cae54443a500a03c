#!/usr/bin/env bash
# Benchmark: rules throughput on one core (GOMAXPROCS=1) with 1M tracked tainted addresses
# and the bundled lists: the worker judging batches (Worker.judge, its cache warm: read
# through the store, so that it holds the states as decoded from Redis) under
# poison with a direct rule, the three models at once, poison with deposit-address
# inference (in steady state: fresh receivers every pass), and the rules of
# configs/rules.example.yaml with inference ("example+infer"); beside a bare loop that only
# looks each movement's sender and receiver up in a map of the same addresses, in the same
# run (BenchmarkRules in watcher/rules_bench_test.go). Two mixes of movements: "mainnet"
# (2% of senders and of receivers tracked, 0.1% sources, 3% to exchanges) and "stress"
# (30%, 1%, 10%, 5%); in both, one sender in four passes on what it received just before.
# Prints movements/s per case, its ratio to the bare loop of its mix (goal: >= 0.5), and
# "paired": the average of each run's ratio to the bare loop measured beside that case
# (before it, after it and between its passes over the stream), which the machine's drift
# over the minutes of a run does not skew; and "x window", its ratio to "bare+window": the
# bare loop plus the least that deposit inference does besides the rules (each sender
# looked up in a Go map of the last 262,144 receivers, each receiver remembered there, the
# oldest forgotten), the yardstick for poison+infer. "bare+shared" is the least a worker
# would do per movement if the taint cache's set and both learners' windows (arrivals,
# payments) were one table of addresses (BenchmarkRules's sharedTable): the yardstick for
# that redesign of the worker's state, whose ratio to the bare loop bounds what it could
# give example+infer.
# Each case runs BENCHTIME (default 20s): the worker's live heap is about 2.5 GB (three
# models), so a case that allocates meets a collection only every couple of gigabytes, and
# a short run, which meets none, leaves the collector's cost out (about a fifth of three
# models' time: 1.73M movements/s with GOGC=off against 1.41M/s). "B/mov" is what a case allocates per movement,
# "GCs" the collections its runs met. A case met by a collection also slows the bare loop
# timed between its passes, which lifts its paired ratio: where GCs is not 0, read
# "x bare".
# About 25 minutes at the defaults (16 for two runs).
# MIXES picks the mixes, separated by "|": besides mainnet and stress (the default), "held"
# (every sender holds watched funds: the rules' cost per such movement) and "untracked"
# (none does: the cost of what is done for every movement, inference and the fan-in tracker).
# CASES picks the cases besides the bare loops, the same way: besides the four above (the
# default), "example" (the example rules without inference) and "example-nofanin" (without
# the fan-in rule too: nothing notes every transfer), which take example+infer apart.
#
#   [BENCHTIME=20s] [MIXES='mainnet|stress'] [CASES=...] bench/rules.sh [COUNT]  (3 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${CASES:-'poison|three-models|poison\+infer|example\+infer'}
GOMAXPROCS=1 go test -run '^$' \
  -bench "BenchmarkRules/mix=(${MIXES:-mainnet|stress})/(bare|bare\+window|bare\+shared|${cases})\$" \
  -benchtime "${BENCHTIME:-20s}" \
  -count "${1:-3}" -timeout 120m ./watcher/ | tee /dev/stderr | awk '
  /^BenchmarkRules\// {
    split($1, p, "/"); mix = p[2]; c = p[3]; sub(/-[0-9]+$/, "", c); k = mix "/" c
    for (i = 2; i <= NF; i++) {
      if ($(i+1) == "movements/s") rate = $i
      if ($(i+1) == "x-bare") { paired[k] += $i; np[k]++ }
      if ($(i+1) == "B/movement") alloc[k] += $i
      if ($(i+1) == "gc-cycles") gcs[k] += $i
    }
    sum[k] += rate; n[k]++
  }
  END {
    printf "\n%-28s %14s %8s %8s %8s %6s %4s\n", "case", "movements/s", "x bare", "paired",
      "x window", "B/mov", "GCs"
    for (k in sum) {
      split(k, q, "/"); avg = sum[k] / n[k]; bare = sum[q[1] "/bare"] / n[q[1] "/bare"]
      win = sum[q[1] "/bare+window"] / n[q[1] "/bare+window"]
      pr = np[k] ? sprintf("%8.2f", paired[k] / np[k]) : sprintf("%8s", "-")
      printf "%-28s %14.0f %8.2f %s %8.2f %6.0f %4d\n", k, avg, avg / bare, pr, avg / win,
        alloc[k] / n[k], gcs[k]
    }
  }' | sort
