# Sourced by the bench scripts: start_devnode starts a geth --dev node (archive, debug API)
# on a free loopback port, sets $url and $work (a temporary directory), and stops the node
# and removes $work on exit; fill_devnode BLOCKS fills it with bench/extractbench's mixed
# traffic and sets $head. Needs geth v1.16.7 (installed with `go install` if missing).
start_devnode() {
  local gobin geth port
  gobin=$(go env GOPATH)/bin
  geth=$(command -v geth || echo "$gobin/geth")
  if [ ! -x "$geth" ]; then
    echo "installing geth v1.16.7 ..." >&2
    go install github.com/ethereum/go-ethereum/cmd/geth@v1.16.7
  fi
  go build -o bin/extractbench ./bench/extractbench
  work=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$geth" --dev --datadir "$work/geth" --gcmode archive --state.scheme hash --http \
    --http.addr 127.0.0.1 --http.port "$port" --http.api eth,net,web3,debug --ipcdisable \
    --nodiscover --maxpeers 0 --verbosity 1 >"$work/geth.log" 2>&1 &
  gpid=$!
  trap 'kill $gpid 2>/dev/null; wait $gpid 2>/dev/null; rm -rf "$work"' EXIT
  url=http://127.0.0.1:$port
  for _ in $(seq 1 100); do
    curl -s -m 1 -H 'Content-Type: application/json' \
      -d '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' "$url" \
      >/dev/null && break
    sleep 0.1
  done
}

fill_devnode() {
  local t0
  echo "filling $1 blocks ..." >&2
  t0=$(date +%s)
  bin/extractbench fill -rpc "$url" -blocks "$1"
  head=$(curl -s -H 'Content-Type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' "$url" |
    python3 -c 'import json,sys; print(int(json.load(sys.stdin)["result"],16))')
  echo "filled in $(( $(date +%s) - t0 ))s; head $head" >&2
}

# secs START_NS END_NS prints the seconds between two `date +%s%N` readings.
secs() { python3 -c "import sys; print(($2-$1)/1e9)"; }

# median prints the median of its arguments.
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
