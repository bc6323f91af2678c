#!/usr/bin/env bash
# Starts an N-node Flume cluster (the overlay, docs/overlay.md) on this machine, on 127.0.0.1:
# makes a cluster CA and one certificate per node, starts the nodes as a full mesh (each node
# lists the nodes started before it with --peer), waits until every node has a link to every
# other, prints how to publish and subscribe through it, and stops the nodes it started on
# Ctrl-C or SIGTERM. See --help.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/cluster-demo.sh [-n N] [--client-port P] [--node-port P] [--dir DIR] [--bin DIR]

Starts N flume-broker nodes on 127.0.0.1 linked into one cluster, and stops them on Ctrl-C or
SIGTERM.

  -n N               number of nodes, 2..20 (default 3); they are named n1, n2, ...
  --client-port P    client (flume://) port of n1; node k listens on P+k-1 (default 7401)
  --node-port P      node-link port of n1; node k listens on P+k-1 (default 7501)
  --dir DIR          keep the cluster's files (CA, certificates, data directories, logs) in DIR;
                     default: a new directory under $TMPDIR (or /tmp), removed on exit
  --bin DIR          where flume-broker and flume are (default: the newest build/*/ of this
                     tree, else $PATH)
  --wait S           how long to wait for the links, in seconds (default 30)
  -h, --help         this text

When the cluster is linked it prints "cluster ready" and the flume commands to try, then the
PID of every node; it exits 0 after a Ctrl-C/SIGTERM, 1 if a node failed.
EOF
}

nodes=3
client_port=7401
node_port=7501
dir=
bin=
wait_s=30

number() { [[ $2 =~ ^[0-9]+$ ]] || { echo "cluster-demo: $1 needs a number, not '$2'" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case $1 in
    -n) number "$1" "${2-}"; nodes=$2; shift 2 ;;
    --client-port) number "$1" "${2-}"; client_port=$2; shift 2 ;;
    --node-port) number "$1" "${2-}"; node_port=$2; shift 2 ;;
    --dir) [ -n "${2-}" ] || { echo "cluster-demo: --dir needs a directory" >&2; exit 2; }
      dir=$2; shift 2 ;;
    --bin) [ -n "${2-}" ] || { echo "cluster-demo: --bin needs a directory" >&2; exit 2; }
      bin=$2; shift 2 ;;
    --wait) number "$1" "${2-}"; wait_s=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "cluster-demo: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$nodes" -lt 2 ] || [ "$nodes" -gt 20 ]; then
  echo "cluster-demo: -n must be 2..20, not $nodes" >&2
  exit 2
fi
for port in "$client_port" "$node_port"; do
  if [ "$port" -lt 1 ] || [ $((port + nodes - 1)) -gt 65535 ]; then
    echo "cluster-demo: port $port does not leave room for $nodes nodes" >&2
    exit 2
  fi
done
if [ $((client_port + nodes)) -gt "$node_port" ] && [ $((node_port + nodes)) -gt "$client_port" ]; then
  echo "cluster-demo: client ports $client_port.. and node ports $node_port.. overlap" >&2
  exit 2
fi

# find_program NAME REL: --bin, else the newest build/*/REL of this tree, else $PATH.
root=$(cd "$(dirname "$0")/.." && pwd)
find_program() {
  local name=$1 rel=$2 found=
  if [ -n "$bin" ]; then
    found=$bin/$name
  else
    found=$(ls -t "$root"/build/*/"$rel" 2>/dev/null | head -n 1 || true)
    [ -n "$found" ] || found=$(command -v "$name" || true)
  fi
  if [ -z "$found" ] || [ ! -x "$found" ]; then
    echo "cluster-demo: no $name (build it: cmake --build --preset ci --target flume-broker" \
      "flume-cli, or give --bin DIR)" >&2
    exit 1
  fi
  printf '%s\n' "$found"
}
broker=$(find_program flume-broker broker/flume-broker)
flume=$(find_program flume tools/flume)

made_dir=
if [ -z "$dir" ]; then
  dir=$(mktemp -d "${TMPDIR:-/tmp}/flume-cluster-demo.XXXXXX")
  made_dir=1
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

pids=()
stopping=

# Stops the nodes this script started (by PID): SIGTERM, up to 5 s, then SIGKILL.
stop_nodes() {
  local pid tries
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    tries=0
    while kill -0 "$pid" 2>/dev/null && [ $tries -lt 50 ]; do
      sleep 0.1
      tries=$((tries + 1))
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}
cleanup() {
  stop_nodes
  if [ -n "$made_dir" ]; then rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'stopping=1' INT TERM

# The CA and the node certificates (kept if --dir already has them).
if [ ! -f "$dir/ca.pem" ]; then
  "$broker" cluster init-ca --dir "$dir" >"$dir/init-ca.log" 2>&1 ||
    { cat "$dir/init-ca.log" >&2; exit 1; }
fi
for k in $(seq 1 "$nodes"); do
  if [ ! -f "$dir/n$k.pem" ]; then
    "$broker" cluster issue-node "n$k" --dir "$dir" >"$dir/issue-n$k.log" 2>&1 ||
      { cat "$dir/issue-n$k.log" >&2; exit 1; }
  fi
done

# The nodes: n1 first, each later node dials the ones before it (a full mesh).
for k in $(seq 1 "$nodes"); do
  peers=()
  for j in $(seq 1 $((k - 1))); do peers+=(--peer "127.0.0.1:$((node_port + j - 1))"); done
  mkdir -p "$dir/n$k"
  "$broker" --node-name "n$k" --listen "127.0.0.1:$((client_port + k - 1))" \
    --cluster-listen "127.0.0.1:$((node_port + k - 1))" --cluster-ca "$dir/ca.pem" \
    --node-cert "$dir/n$k.pem" --node-key "$dir/n$k.key" --data-dir "$dir/n$k" \
    --stats-interval 1 "${peers[@]}" >"$dir/n$k.log" 2>&1 </dev/null &
  pids+=($!)
done

# links_up K: the node's latest "cluster: links_up=" count (its stats line, every second).
links_up() {
  sed -n 's/^cluster: links_up=\([0-9]*\) .*/\1/p' "$dir/n$1.log" 2>/dev/null | tail -n 1
}
node_failed() {
  echo "cluster-demo: node n$1 (pid ${pids[$1 - 1]}) exited; its log ($dir/n$1.log):" >&2
  tail -n 20 "$dir/n$1.log" >&2
  exit 1
}

deadline=$((SECONDS + wait_s))
while :; do
  linked=0
  for k in $(seq 1 "$nodes"); do
    kill -0 "${pids[$k - 1]}" 2>/dev/null || node_failed "$k"
    if [ "$(links_up "$k")" = "$((nodes - 1))" ]; then linked=$((linked + 1)); fi
  done
  if [ "$linked" -eq "$nodes" ]; then break; fi
  if [ -n "$stopping" ]; then exit 0; fi
  if [ $SECONDS -ge $deadline ]; then
    echo "cluster-demo: the nodes did not all link within ${wait_s} s (logs in $dir):" >&2
    for k in $(seq 1 "$nodes"); do echo "  n$k: links_up=$(links_up "$k")" >&2; done
    exit 1
  fi
  sleep 0.2
done

last=$nodes
cat <<EOF
cluster ready: $nodes nodes linked (files and logs in $dir)
EOF
for k in $(seq 1 "$nodes"); do
  printf '  n%s  flume://127.0.0.1:%s  node link 127.0.0.1:%s  pid %s\n' "$k" \
    "$((client_port + k - 1))" "$((node_port + k - 1))" "${pids[$k - 1]}"
done
cat <<EOF

Subscribe at n$last and publish at n1 (each node has its own self-signed client certificate,
trusted with --ca <its data directory>/cert.pem):

  $flume sub -s flume://127.0.0.1:$((client_port + last - 1)) --ca $dir/n$last/cert.pem 'demo.>'
  $flume pub -s flume://127.0.0.1:$client_port --ca $dir/n1/cert.pem demo.hello 'hello from n1'

Each node prints a "cluster:" counters line every second in its log ($dir/n1.log ...).
Ctrl-C stops the cluster.
EOF

# Run until Ctrl-C/SIGTERM or until a node exits by itself.
while [ -z "$stopping" ]; do
  for k in $(seq 1 "$nodes"); do
    kill -0 "${pids[$k - 1]}" 2>/dev/null || node_failed "$k"
  done
  sleep 0.5
done
echo "cluster-demo: stopping $nodes nodes"
exit 0
