#!/usr/bin/env bash
# Starts (or stops) a local three-master Redis Cluster for the test suite's cluster pass:
# redis-server on 127.0.0.1:7001-7003, nothing kept on disk, joined with redis-cli
# --cluster create. Prints the REDIS_CLUSTER_URL to use.
#
#   scripts/redis-cluster.sh start|stop [BASE_PORT]   (default 7001)
set -euo pipefail
base="${2:-7001}"
ports=("$base" "$((base + 1))" "$((base + 2))")
dir="${TMPDIR:-/tmp}/flowwatch-redis-cluster-$base"
case "${1:-}" in
start)
  mkdir -p "$dir"
  for p in "${ports[@]}"; do
    if ! redis-cli -p "$p" ping >/dev/null 2>&1; then
      mkdir -p "$dir/$p"
      redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes \
        --cluster-config-file "$dir/$p/nodes.conf" --cluster-node-timeout 5000 \
        --dir "$dir/$p" --save "" --appendonly no --daemonize yes \
        --logfile "$dir/$p/redis.log"
    fi
  done
  for p in "${ports[@]}"; do
    for _ in $(seq 1 100); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
  done
  if ! redis-cli -p "$base" cluster info | grep -q 'cluster_state:ok'; then
    redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 \
      --cluster-yes >/dev/null
    for _ in $(seq 1 100); do
      redis-cli -p "$base" cluster info | grep -q 'cluster_state:ok' && break
      sleep 0.1
    done
  fi
  redis-cli -p "$base" cluster info | grep -q 'cluster_state:ok' ||
    { echo "redis cluster did not come up" >&2; exit 1; }
  echo "redis://127.0.0.1:${ports[0]}?addr=127.0.0.1:${ports[1]}&addr=127.0.0.1:${ports[2]}"
  ;;
stop)
  for p in "${ports[@]}"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start|stop [BASE_PORT]" >&2
  exit 2
  ;;
esac
