#!/usr/bin/env bash
# Benchmark: sustained movements/s through Redis Streams (publish with the poller's atomic
# append, rules workers, taint, dedup, a null sink, ack) next to redis-benchmark's pipelined
# XADD (-P 16) of a movement-sized payload on the same server, in the same run.
#
#   bench/pipeline.sh [MOVEMENTS] [WORKERS] [REDIS_URL]   (defaults: 50000 2 redis://127.0.0.1:6379)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50000}
workers=${2:-2}
url=${3:-redis://127.0.0.1:6379}
hostport=${url#redis://}; host=${hostport%:*}; port=${hostport##*:}
go build -o bin/pipelinebench ./bench/pipelinebench
payload=$(printf '{"chain":"bench","block":1,"block_hash":"0x%064d","parent_hash":"0x%064d","time":"2023-11-14T22:13:20Z","tx":"0x%064d","tx_index":0,"position":"tx","kind":"native","inputs":[{"address":"0x%040d","asset":"native","amount":"123456789012345678"}],"outputs":[{"address":"0x%040d","asset":"native","amount":"123456789012345678"}]}' 1 0 7 1 2)
key='fwbench-raw:{bench}:movements'
rb=$(redis-benchmark -h "$host" -p "$port" -P 16 -n 200000 -q XADD "$key" '*' m "$payload" |
  tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | awk '{print $1}')
redis-cli -h "$host" -p "$port" del "$key" >/dev/null
echo "redis-benchmark -P 16 XADD (${#payload}-byte payload): $rb entries/s"
out=$(bin/pipelinebench -redis "$url" -movements "$n" -workers "$workers")
echo "flowwatch: $out"
e2e=$(echo "$out" | grep -o 'end_to_end_per_s [0-9.]*' | awk '{print $2}')
pub=$(echo "$out" | grep -o 'publish_per_s [0-9.]*' | awk '{print $2}')
python3 -c "print(f'ratio end-to-end/XADD {${e2e}/${rb}:.3f}, publish/XADD {${pub}/${rb}:.3f} (goal end-to-end >= 0.5)')"
