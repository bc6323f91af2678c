#!/bin/sh
# flume-broker's log (--log-level, --log-format, and the same as TOML keys): JSON lines that parse,
# text lines with a timestamp, level and component, and a clear usage error for a bad level.
#
#   broker_log_test.sh FLUME_BROKER FLUME CASE
set -u
broker=$1
flume=$2
case_name=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/flume-broker-log.XXXXXX") || exit 1
pid=
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

failed() {
  echo "FAILED ($case_name): $*" >&2
  for file in "$work"/out "$work"/err "$work"/client; do
    [ -f "$file" ] && { echo "--- $file" >&2; cat "$file" >&2; }
  done
  exit 1
}

# run_broker ARGS...: starts it, one client publishes through it, SIGTERM stops it.
run_broker() {
  rm -f "$work/out" "$work/err"
  "$broker" -l 127.0.0.1:0 --data-dir "$work" "$@" >"$work/out" 2>"$work/err" &
  pid=$!
  tries=0
  address=
  # Until the whole line is there: a read can catch it half written. (The log was removed
  # first: the redirect happens in the child, so this shell could otherwise read the previous
  # start's lines before the file is truncated.)
  until [ -n "$address" ]; do
    kill -0 "$pid" 2>/dev/null || failed "flume-broker exited before listening"
    tries=$((tries + 1))
    [ $tries -gt 100 ] && failed "flume-broker did not say 'listening on' within 10 s"
    sleep 0.1
    address=$(sed -n 's/.* listening on \([^ ]*\) .*/\1/p' "$work/out" 2>/dev/null)
  done
  "$flume" pub -q -s "flume://$address" --ca "$work/cert.pem" log.test x >"$work/client" 2>&1 ||
    failed "flume pub failed"
  kill -TERM "$pid"
  wait "$pid" || failed "flume-broker exited with $? after SIGTERM"
  pid=
}

case $case_name in
  json_lines_parse)
    # From the TOML file: debug shows each connection accepted and closed.
    printf 'log_level = "debug"\nlog_format = "json"\n' >"$work/broker.toml"
    run_broker -c "$work/broker.toml"
    python3 - "$work/err" <<'PY' || failed "stderr is not JSON lines with ts, level, component, msg"
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines, "no log lines"
records = [json.loads(line) for line in lines]
for r in records:
    assert set(r) == {"ts", "level", "component", "msg"}, r
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["ts"]), r
    assert r["level"] in ("trace", "debug", "info", "warn", "error"), r
assert any(r["component"] == "broker" and r["level"] == "debug" and "accepted" in r["msg"]
           for r in records), "no connection accepted"
assert any(r["component"] == "flume-broker" and r["msg"] == "stopped" for r in records)
PY
    ;;
  text_lines_at_info)
    # The default format; info does not show every connection.
    run_broker --log-level info
    grep -Eq '^[0-9]{4}-[0-9][0-9]-[0-9][0-9]T[0-9:]{8}\.[0-9]{3}Z info  flume-broker: started: ' \
      "$work/err" || failed "no text start line on stderr"
    grep -q 'accepted' "$work/err" && failed "info shows debug lines"
    grep -q ' listening on ' "$work/err" && failed "the start-up lines belong on stdout"
    ;;
  log_off_writes_nothing)
    run_broker --log-level=off --log-format text
    [ -s "$work/err" ] && failed "--log-level off wrote to stderr"
    ;;
  bad_log_options_exit_2)
    "$broker" --log-level loud >"$work/out" 2>"$work/err"
    [ $? -eq 2 ] || failed "--log-level loud did not exit with 2"
    grep -q -- "--log-level must be trace, debug, info, warn, error or off, not 'loud'" "$work/err" ||
      failed "no usage message for --log-level"
    "$broker" --log-format xml >"$work/out" 2>"$work/err"
    [ $? -eq 2 ] || failed "--log-format xml did not exit with 2"
    grep -q -- "--log-format must be text or json" "$work/err" || failed "no usage message for --log-format"
    ;;
  *)
    echo "broker_log_test.sh: unknown case '$case_name'" >&2
    exit 2
    ;;
esac
exit 0
