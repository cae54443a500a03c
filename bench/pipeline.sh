#!/usr/bin/env bash
# Benchmark: sustained movements/s through Redis Streams, next to redis-benchmark's pipelined
# XADD (-P 16) of an entry of the same size on the same server, in the same run.
#
# pipelinebench runs three times: "phased" publishes every block first (the poller's atomic
# append: XADDs, block records, cursor, in one script per 8 blocks), then times the rules
# workers draining the stream (read, taint lookup, rules, taint writes, the alert log,
# ack); "concurrent" runs both at once and times publish to last ack (end to end);
# "queue only" does the same with consumers that only read, decode and acknowledge: Redis
# Streams as the transport, without rules. A stream entry carries up to 256 movements of one
# block; the baseline's entries are one movement each (357 bytes).
#
#   bench/pipeline.sh [MOVEMENTS] [WORKERS] [REDIS_URL]   (defaults: 200000 1 redis://127.0.0.1:6379)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
workers=${2:-1}
url=${3:-redis://127.0.0.1:6379}
hostport=${url#redis://}; host=${hostport%:*}; port=${hostport##*:}
go build -o bin/pipelinebench ./bench/pipelinebench
phased=$(bin/pipelinebench -redis "$url" -movements "$n" -workers "$workers" -phased)
concurrent=$(bin/pipelinebench -redis "$url" -movements "$n" -workers "$workers")
queueonly=$(bin/pipelinebench -redis "$url" -movements "$n" -queue-only)
field() { echo "$1" | grep -o "$2 [0-9.]*" | awk '{print $2}'; }
size=$(field "$phased" entry_bytes)
payload=$(head -c "$size" /dev/zero | tr '\0' x)
key='fwbench-raw:{bench}:movements'
rb=$(redis-benchmark -h "$host" -p "$port" -P 16 -n 400000 -q XADD "$key" '*' m "$payload" |
  tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | awk '{print $1}')
redis-cli -h "$host" -p "$port" del "$key" >/dev/null
echo "redis-benchmark -P 16 XADD (${size}-byte entries): $rb entries/s"
echo "flowwatch $phased"
echo "flowwatch $concurrent"
echo "flowwatch $queueonly"
python3 - "$rb" "$(field "$phased" publish_per_s)" "$(field "$phased" consume_per_s)" \
  "$(field "$concurrent" end_to_end_per_s)" "$(field "$queueonly" end_to_end_per_s)" <<'PY'
import sys
rb, pub, con, e2e, q = map(float, sys.argv[1:])
print(f"movements/s over XADD entries/s: publish {pub/rb:.2f}, rules workers draining "
      f"{con/rb:.2f}, end to end with rules {e2e/rb:.2f}, "
      f"through the queue alone {q/rb:.2f} (goal >= 0.5)")
PY
