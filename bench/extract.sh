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
gobin=$(go env GOPATH)/bin
geth=$(command -v geth || echo "$gobin/geth")
if [ ! -x "$geth" ]; then
  echo "installing geth v1.16.7 ..." >&2
  go install github.com/ethereum/go-ethereum/cmd/geth@v1.16.7
fi
make -s build
go build -o bin/extractbench ./bench/extractbench

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$geth" --dev --datadir "$work/geth" --gcmode archive --state.scheme hash --http --http.addr 127.0.0.1 --http.port "$port" \
  --http.api eth,net,web3,debug --ipcdisable --nodiscover --maxpeers 0 --verbosity 1 \
  >"$work/geth.log" 2>&1 &
gpid=$!
trap 'kill $gpid 2>/dev/null; wait $gpid 2>/dev/null; rm -rf "$work"' EXIT
url=http://127.0.0.1:$port
for _ in $(seq 1 100); do
  curl -s -m 1 -H 'Content-Type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' "$url" >/dev/null && break
  sleep 0.1
done

echo "filling $blocks blocks ..." >&2
t0=$(date +%s)
bin/extractbench fill -rpc "$url" -blocks "$blocks"
head=$(curl -s -H 'Content-Type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' "$url" |
  python3 -c 'import json,sys; print(int(json.load(sys.stdin)["result"],16))')
echo "filled in $(( $(date +%s) - t0 ))s; head $head" >&2

secs() { python3 -c "import sys; print(($2-$1)/1e9)" ; }
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
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
printf 'blocks %d, concurrency %d: median extract/bare ratio %.2f (goal >= 0.70)\n' \
  "$head" "$conc" "$median"
