#!/bin/bash
# scripts/cluster-demo.sh as a user runs it: a 3-node cluster comes up, a message published at
# n1 reaches a subscriber at n3 through it, and SIGTERM to the script stops every node it started.
#
#   cluster_demo_test.sh SCRIPT FLUME_BROKER FLUME
set -u
script=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/flume-cluster-demo-test.XXXXXX") || exit 1
# The script's --bin takes one directory holding both programs.
bin=$work/bin
mkdir -p "$bin" && ln -s "$2" "$bin/flume-broker" && ln -s "$3" "$bin/flume" || exit 1
demo_pid=
sub_pid=

failed() {
  echo "FAILED: $*" >&2
  for file in "$work"/*.out "$work"/*.err "$work"/cluster/n*.log; do
    [ -f "$file" ] && { echo "--- $file" >&2; tail -n 40 "$file" >&2; }
  done
  exit 1
}
cleanup() {
  # Only if the test failed half-way: the PIDs this test started, then the nodes it saw.
  for pid in $sub_pid $demo_pid $(node_pids); do kill -KILL "$pid" 2>/dev/null; done
  rm -rf "$work"
}
node_pids() { sed -n 's/.* pid \([0-9]*\)$/\1/p' "$work/demo.out" 2>/dev/null; }
trap cleanup EXIT

# Ports from the PID, so parallel runs of this test do not collide.
slot=$(($$ % 3000))
client_port=$((20000 + slot * 3))
node_port=$((50000 + slot * 3))

"$script" -n 3 --client-port "$client_port" --node-port "$node_port" --dir "$work/cluster" \
  --bin "$bin" >"$work/demo.out" 2>"$work/demo.err" &
demo_pid=$!
tries=0
until grep -q '^cluster ready' "$work/demo.out" 2>/dev/null; do
  kill -0 "$demo_pid" 2>/dev/null || failed "cluster-demo.sh exited before the cluster was ready"
  tries=$((tries + 1))
  [ $tries -gt 400 ] && failed "cluster-demo.sh: no 'cluster ready' within 40 s"
  sleep 0.1
done
[ "$(node_pids | wc -l)" -eq 3 ] || failed "cluster-demo.sh did not print three node PIDs"

# The commands the script printed, run as printed (their -s and --ca).
sub_cmd=$(grep -E '^  .*/flume sub ' "$work/demo.out" | sed 's/^  //')
pub_cmd=$(grep -E '^  .*/flume pub ' "$work/demo.out" | sed 's/^  //')
[ -n "$sub_cmd" ] && [ -n "$pub_cmd" ] || failed "cluster-demo.sh printed no flume sub/pub commands"
case $sub_cmd in *":$((client_port + 2)) "*) ;; *) failed "the sub command is not for n3: $sub_cmd" ;; esac
case $pub_cmd in *":$client_port "*) ;; *) failed "the pub command is not for n1: $pub_cmd" ;; esac

eval "$sub_cmd -n 1 --timeout 15000 --format line" >"$work/sub.out" 2>"$work/sub.err" &
sub_pid=$!
tries=0
until grep -q "subscribed to" "$work/sub.err" 2>/dev/null; do
  kill -0 "$sub_pid" 2>/dev/null || failed "flume sub exited before subscribing"
  tries=$((tries + 1))
  [ $tries -gt 100 ] && failed "flume sub did not subscribe within 10 s"
  sleep 0.1
done
# n3's interest reaches n1 by an advert; until then n1 has nowhere to forward, so publish again
# (bounded) until the subscriber has its message.
tries=0
while kill -0 "$sub_pid" 2>/dev/null; do
  eval "$pub_cmd -q" 2>>"$work/pub.err" || failed "flume pub at n1 failed"
  tries=$((tries + 1))
  [ $tries -gt 50 ] && failed "no message reached n3 after 50 publishes (10 s)"
  sleep 0.2
done
wait "$sub_pid" || failed "flume sub at n3 exited with $?"
sub_pid=
[ "$(cat "$work/sub.out")" = "demo.hello: hello from n1" ] || failed "n3 received '$(cat "$work/sub.out")'"

# SIGTERM to the script: it stops its nodes and exits 0; no node is left.
pids=$(node_pids)
kill -TERM "$demo_pid"
tries=0
while kill -0 "$demo_pid" 2>/dev/null; do
  tries=$((tries + 1))
  [ $tries -gt 150 ] && failed "cluster-demo.sh still runs 15 s after SIGTERM"
  sleep 0.1
done
wait "$demo_pid"
status=$?
demo_pid=
[ $status -eq 0 ] || failed "cluster-demo.sh exited with $status after SIGTERM"
for pid in $pids; do
  if kill -0 "$pid" 2>/dev/null; then failed "node pid $pid is still running"; fi
done
grep -q 'stopping 3 nodes' "$work/demo.out" || failed "cluster-demo.sh did not say it stopped the nodes"
echo "cluster-demo.sh: 3 nodes up, n1 -> n3 delivered, all stopped after SIGTERM"
