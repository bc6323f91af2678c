#!/bin/sh
# flume bench against a real broker (run under with_broker.sh).
#
#   cli_bench.sh FLUME CASE
. "$(dirname "$0")/cli_test_lib.sh"

case $case_name in
  two_subscribers_receive_and_report_latency)
    "$flume" bench --duration 2 --warmup 0.5 --subscribers 2 >"$work/out" 2>"$work/err" ||
      failed "flume bench exited with $?"
    grep -Eq '^receive +[1-9][0-9,]* msg/s in total' "$work/out" || failed "nothing received"
    grep -Eq '^receive .*per subscriber: [1-9][0-9,]* [1-9][0-9,]*$' "$work/out" ||
      failed "a subscriber received nothing"
    grep -Eq '^latency +p50 [0-9.]+ µs +p90 .* p99 .* p99\.9 .* max [0-9.]+ µs +\([1-9]' "$work/out" ||
      failed "no latency line with samples"
    grep -q 'sent .* msg/s  received .* msg/s' "$work/err" || failed "no progress on stderr"
    ;;
  paced_json_summary)
    "$flume" bench --json --rate 2000 --duration 1 --warmup 0 >"$work/out" 2>"$work/err" ||
      failed "flume bench exited with $?"
    # 2000 msg/s for 1 s, within a few percent.
    grep -Eq '"publish":\{"messages":(19[4-9][0-9]|20[0-5][0-9]),' "$work/out" ||
      failed "the paced publisher did not send about 2000 messages"
    grep -Eq '"receive":\{"messages":[1-9]' "$work/out" || failed "nothing received"
    grep -Eq '"latency_us":\{"samples":[1-9][0-9]*,"p50":[0-9.]+,' "$work/out" || failed "no latency"
    grep -q '"errors":0}' "$work/out" || failed "errors reported"
    ;;
  broker_cpu_per_message_with_broker_pid)
    # The broker's own CPU over the measured window, per routed message and per delivery: with
    # two subscribers each message is two deliveries, so the second is about half the first.
    "$flume" bench --json --rate 2000 --duration 2 --warmup 0.5 --subscribers 2 \
      --broker-pid "$FLUME_BROKER_PID" >"$work/out" 2>"$work/err" || failed "flume bench exited with $?"
    python3 - "$work/out" <<'PY' || failed "broker_cpu is wrong: $(cat "$work/out")"
import json, sys
b = json.loads(open(sys.argv[1]).read())["broker_cpu"]
assert b["window_s"] >= 0.9 and b["cpu_s"] > 0, b
assert b["published"] > 1000 and 1.8 * b["published"] <= b["received"] <= 2.2 * b["published"], b
assert b["us_per_message"] > 0 and abs(b["us_per_delivery"] * 2 - b["us_per_message"]) < 0.2 * b["us_per_message"], b
PY
    "$flume" bench --duration 1 --warmup 0 --broker-pid "$FLUME_BROKER_PID" >"$work/out" 2>"$work/err" ||
      failed "flume bench exited with $?"
    grep -Eq '^broker +CPU [0-9.]+ s over [0-9.]+ s \([0-9]+% of a core\): [0-9.]+ µs per routed message' "$work/out" ||
      failed "no broker CPU line: $(cat "$work/out")"
    "$flume" bench --broker-pid 999999999 >"$work/out" 2>"$work/err" && failed "a bad --broker-pid was accepted"
    grep -q "cannot read /proc/999999999/task" "$work/err" || failed "unclear error: $(cat "$work/err")"
    ;;
  *)
    echo "cli_bench.sh: unknown case '$case_name'" >&2
    exit 2
    ;;
esac
