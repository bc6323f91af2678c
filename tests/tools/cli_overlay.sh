#!/bin/sh
# flume overlay against two real flume-broker nodes in a cluster on 127.0.0.1 (b dials a): the
# nodes, their link with a probe RTT from both ends, a subscriber's interest as the peer sees it,
# JSON, clear failures, and a node killed with SIGKILL noticed by its peer within 2 s.
#
#   cli_overlay.sh FLUME CASE FLUME_BROKER
. "$(dirname "$0")/cli_test_lib.sh"
broker=$3
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; wait; rm -rf "$work"' EXIT

"$broker" cluster init-ca --dir "$work/c" >/dev/null || failed "cluster init-ca"
for n in a b ops; do
  "$broker" cluster issue-node $n --dir "$work/c" >/dev/null || failed "cluster issue-node $n"
done

# start_node NAME [PEER]: sets addr_NAME (cluster), client_NAME and pid_NAME.
start_node() {
  name=$1
  "$broker" --node-name "$name" --listen 127.0.0.1:0 --cluster-listen 127.0.0.1:0 \
    --data-dir "$work/data-$name" --cluster-ca "$work/c/ca.pem" --node-cert "$work/c/$name.pem" \
    --node-key "$work/c/$name.key" ${2:+--peer "$2"} >"$work/$name.log" 2>&1 &
  pids="$pids $!"
  eval "pid_$name=$!"
  i=0
  addr=""
  while [ $i -lt 100 ] && [ -z "$addr" ]; do
    addr=$(sed -n 's/.*listening for nodes on \([^ ]*\) .*/\1/p' "$work/$name.log")
    [ -n "$addr" ] || sleep 0.1
    i=$((i + 1))
  done
  [ -n "$addr" ] || failed "node $name did not start"
  eval "addr_$name=$addr"
  eval "client_$name=$(sed -n 's/.* listening on \([^ ]*\) (QUIC.*/\1/p' "$work/$name.log")"
}

overlay() {
  "$flume" overlay --cluster-ca "$work/c/ca.pem" --cert "$work/c/ops.pem" --key "$work/c/ops.key" \
    "$@"
}

# until_output SECONDS PATTERN ARGS...: runs flume overlay ARGS until its output has PATTERN.
until_output() {
  limit=$(($1 * 10))
  pattern=$2
  shift 2
  i=0
  while [ $i -lt $limit ]; do
    overlay "$@" >"$work/out" 2>"$work/err" && grep -Eq -- "$pattern" "$work/out" && return 0
    sleep 0.1
    i=$((i + 1))
  done
  failed "flume overlay $* never printed '$pattern'"
}

start_node a
start_node b "$addr_a"

case $case_name in
  overlay_shows_links_rtt_and_interest)
    "$flume" sub -s "flume://$client_a" --ca "$work/data-a/cert.pem" --timeout 30000 'orders.>' \
      >/dev/null 2>"$work/sub.err" &
    pids="$pids $!"
    # The dialer's probe RTT (ms with two decimals) on b, the same link as a reports it.
    until_output 10 '^  a +dialed +up +[0-9]+\.[0-9]{2} ' "$addr_b"
    # The route and why: its path and cost (no alternative with two nodes).
    until_output 10 '^  node a via a \(path b>a, [0-9]+\.[0-9] ms\), interest: orders\.>' "$addr_b"
    until_output 10 '^  b +accepted +up +[0-9]+\.[0-9]{2} ' "$addr_a"
    # Loss 0.0%, and a probe cost of some hundreds of bytes a second at the default 4/s (once a
    # whole second of probes is counted).
    until_output 10 '^  a +dialed +up +[0-9.]+ +[0-9.]+ +0\.0% +[1-9][0-9]{1,3} ' "$addr_b"
    overlay "$addr_a" "$addr_b" >"$work/out" 2>"$work/err" || failed "flume overlay a b failed"
    grep -q "^node a  epoch [0-9a-f]\{16\}  cluster $addr_a" "$work/out" || failed "no node a"
    grep -q "^node b  epoch [0-9a-f]\{16\}  cluster $addr_b" "$work/out" || failed "no node b"
    grep -q "^  interest here: orders\.>" "$work/out" || failed "a's own interest missing"
    overlay --json "$addr_b" >"$work/json" 2>"$work/err" || failed "flume overlay --json failed"
    grep -q '"name": "b"' "$work/json" || failed "--json lacks the node"
    grep -q '"direction": "dialed"' "$work/json" || failed "--json lacks the link"
    grep -q '"orders.>"' "$work/json" || failed "--json lacks the interest"
    grep -q '"path": \[' "$work/json" || failed "--json lacks the route's path"
    grep -q '"cost_us": [0-9]' "$work/json" || failed "--json lacks the route's cost"
    grep -q '"route_changes": \[' "$work/json" || failed "--json lacks the route changes"
    grep -q '"usable": true' "$work/json" || failed "--json lacks the link's usability"
    ;;
  overlay_failures_say_why)
    mkdir "$work/other"
    "$broker" cluster init-ca --dir "$work/other" >/dev/null || failed "second CA"
    "$broker" cluster issue-node ops --dir "$work/other" >/dev/null || failed "second CA's node"
    "$flume" overlay --cluster-ca "$work/other/ca.pem" --cert "$work/other/ops.pem" \
      --key "$work/other/ops.key" "$addr_a" >"$work/out" 2>"$work/err"
    [ $? -eq 1 ] || failed "another CA's certificate did not fail with status 1"
    grep -q "certificate" "$work/err" || failed "no word of the certificate"
    overlay "$client_a" >"$work/out" 2>"$work/err"
    [ $? -eq 1 ] || failed "a client port did not fail with status 1"
    grep -q "not a Flume node" "$work/err" || failed "a client port is not called not a node"
    overlay >"$work/out" 2>"$work/err"
    [ $? -eq 2 ] || failed "no address is not a usage error"
    kill "$pid_b"
    wait "$pid_b" 2>/dev/null
    overlay --timeout 3000 "$addr_b" >"$work/out" 2>"$work/err"
    [ $? -eq 1 ] || failed "a stopped node did not fail with status 1"
    grep -Eq "refused|no answer" "$work/err" || failed "a stopped node is not unreachable"
    ;;
  killed_node_noticed_within_2s)
    until_output 10 '^  b +accepted +up +[0-9]+\.[0-9]{2} ' "$addr_a"
    start=$(date +%s%N)
    kill -9 "$pid_b"
    i=0
    while [ $i -lt 500 ] && ! grep -q "link_dead" "$work/a.log"; do
      sleep 0.01
      i=$((i + 1))
    done
    elapsed=$((($(date +%s%N) - start) / 1000000))
    grep -q "link_dead: b" "$work/a.log" || failed "a never called the link dead"
    [ "$elapsed" -lt 2000 ] || failed "a noticed after $elapsed ms, not within 2 s"
    echo "a noticed b's SIGKILL after $elapsed ms"
    until_output 3 '^  no links' "$addr_a"
    ;;
  *) failed "unknown case" ;;
esac
