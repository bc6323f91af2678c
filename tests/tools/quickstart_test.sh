#!/usr/bin/env bash
# The README's quick start, run the way a new user runs it: `./scripts/run.sh` (set-up, release
# build, broker on its built-in defaults) with a fresh HOME and none of Flume's environment, then
# `flume sub` and `flume pub` from the README with no certificate flags, then Ctrl-C (SIGINT) and a
# clean exit. scripts/test.sh runs it after the other tests, on its own (it builds build/release
# and listens on the default UDP port 7337, so nothing else may hold that port).
#
#   tests/tools/quickstart_test.sh
#
# Bounded: the build may take FLUME_QUICKSTART_BUILD_SECONDS (default 1200), every other wait 10 s.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

work=$(mktemp -d "${TMPDIR:-/tmp}/flume-quickstart.XXXXXX") || exit 1
broker_pid="" sub_pid=""
cleanup() {
  for pid in $sub_pid $broker_pid; do
    kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT

failed() {
  echo "FAILED (quickstart): $*" >&2
  for file in "$work"/*.log "$work"/*.out "$work"/*.err; do
    [ -f "$file" ] && { echo "--- $file" >&2; tail -n 40 "$file" >&2; }
  done
  exit 1
}

# A user's shell: a new, empty HOME and none of the variables Flume reads.
mkdir -p "$work/home"
user_env=(env -u FLUME_DATA_DIR -u FLUME_CA -u FLUME_SERVER -u XDG_DATA_HOME HOME="$work/home")

# wait_for PID FILE TEXT SECONDS WHAT: until FILE contains TEXT; fails if PID exits first.
wait_for() {
  local pid=$1 file=$2 text=$3 seconds=$4 what=$5 deadline=$((SECONDS + $4))
  until grep -q -- "$text" "$file" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || failed "$what: the process exited first"
    [ $SECONDS -lt $deadline ] || failed "$what: not within $seconds s"
    sleep 0.2
  done
}

# 1. The README's first command. Started in a process group of its own (set -m), as a terminal
# would, so that SIGINT reaches it as Ctrl-C does (a non-interactive shell's background jobs
# would otherwise ignore SIGINT).
echo "quickstart: ./scripts/run.sh (HOME=$work/home)"
set -m
"${user_env[@]}" ./scripts/run.sh >"$work/broker.log" 2>&1 &
broker_pid=$!
set +m
wait_for "$broker_pid" "$work/broker.log" ' listening on ' "${FLUME_QUICKSTART_BUILD_SECONDS:-1200}" \
  "scripts/run.sh did not start the broker"
grep -q "$work/home/.local/share/flume" "$work/broker.log" ||
  failed "the broker did not put its certificate in the fresh HOME's data directory"

# 2. The README's publish and subscribe, with no certificate flags.
flume=build/release/tools/flume
"${user_env[@]}" "$flume" sub --count 1 --timeout 10000 'demo.>' >"$work/sub.out" 2>"$work/sub.err" &
sub_pid=$!
wait_for "$sub_pid" "$work/sub.err" 'subscribed to' 10 "flume sub did not subscribe"
"${user_env[@]}" "$flume" pub demo.hello 'hello, world' 2>"$work/pub.err" || failed "flume pub failed"
wait "$sub_pid" || failed "flume sub exited with $?"
sub_pid=""
[ "$(cat "$work/sub.out")" = "hello, world" ] || failed "flume sub printed something else"

# 3. Ctrl-C: a graceful shutdown and exit status 0.
kill -INT "$broker_pid"
deadline=$((SECONDS + 10))
while kill -0 "$broker_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
kill -0 "$broker_pid" 2>/dev/null && failed "the broker did not exit within 10 s of SIGINT"
wait "$broker_pid"
status=$?
broker_pid=""
[ $status -eq 0 ] || failed "the broker exited with status $status after SIGINT"
echo "quickstart: run.sh, sub/pub round trip without certificate flags, Ctrl-C: passed"
