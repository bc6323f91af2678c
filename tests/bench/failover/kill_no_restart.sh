#!/bin/bash
# How long a subscriber takes to notice a broker that was killed (SIGKILL) and NOT restarted, on a
# host that stays up (so the kernel answers the subscriber's packets with ICMP port unreachable).
# Prints one line per run:
#   run N: lost noticed after X ms: <the subscriber's log line>
# Times are from the SIGKILL, taken from the subscriber's stderr lines as they arrive. The broker
# is started afresh for each run (so each run has a live connection to lose) and the subscriber
# is stopped after 10 s, so a run that is not noticed shows "?" rather than waiting for the 30 s
# idle timeout.
#
#   kill_no_restart.sh BUILD_DIR [RUNS]     e.g. kill_no_restart.sh build/release 5
set -u
build=${1:?usage: kill_no_restart.sh BUILD_DIR [RUNS]}
runs=${2:-5}
broker="$build/broker/flume-broker"
flume="$build/tools/flume"
[ -x "$flume" ] || flume="$build/broker/flume"  # builds before the tools/ move
work=$(mktemp -d "${TMPDIR:-/tmp}/flume-failover.XXXXXX") || exit 1
port=$((20000 + RANDOM % 20000))
bpid= spid= ppid=
cleanup() {
  for p in $bpid $spid $ppid; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
exec 3>&2 2>/dev/null  # no "Killed" job reports from bash; errors go to fd 3
now_ms() { date +%s%3N; }
start_broker() {
  rm -f "$work/broker.out"
  "$broker" -l "127.0.0.1:$port" --data-dir "$work/data" >"$work/broker.out" 2>&1 &
  bpid=$!
  for _ in $(seq 100); do grep -q ' listening on ' "$work/broker.out" 2>/dev/null && return 0; sleep 0.05; done
  echo "broker did not start" >&3; exit 1
}
export FLUME_SERVER="flume://127.0.0.1:$port" FLUME_CA="$work/data/cert.pem"
for run in $(seq "$runs"); do
  start_broker
  # The subscriber stamps each line it prints as it arrives.
  ( "$flume" sub 'failover.>' 2>&1 | while IFS= read -r line; do echo "$(now_ms) $line"; done ) \
    >"$work/sub.$run" &
  spid=$!
  sleep 1
  # A message every 20 ms, as in kill_restart.sh, each from a new short-lived publisher.
  ( while true; do timeout 2 "$flume" pub failover.x tick >/dev/null 2>&1; sleep 0.02; done ) &
  ppid=$!
  sleep 1
  killed=$(now_ms)
  kill -KILL "$bpid"; wait "$bpid" 2>/dev/null || true
  sleep 10
  kill -KILL "$ppid" 2>/dev/null; pkill -P "$ppid" 2>/dev/null; wait "$ppid" 2>/dev/null
  kill -INT "$spid" 2>/dev/null; pkill -INT -P "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
  line=$(awk -v k="$killed" '$0 ~ /lost/ && $1 >= k {print; exit}' "$work/sub.$run")
  lost=$(echo "$line" | awk -v k="$killed" 'NF {print $1 - k}')
  echo "run $run: lost noticed after ${lost:-?} ms: ${line#* }"
done
