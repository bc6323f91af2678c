#!/bin/sh
# flume-broker never replaces its identity silently: a damaged self-signed pair stops it with a
# message naming the file and the way out, touching nothing; --regenerate-certificate makes a new
# pair and keeps the old files as *.bak.
#
#   broker_identity_test.sh FLUME_BROKER CASE
set -u
broker=$1
case_name=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/flume-broker-identity.XXXXXX") || exit 1
pid=
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

failed() {
  echo "FAILED ($case_name): $*" >&2
  for file in "$work"/out "$work"/err; do
    [ -f "$file" ] && { echo "--- $file" >&2; cat "$file" >&2; }
  done
  exit 1
}

# start_and_stop ARGS...: waits for 'listening on', then stops it with SIGTERM.
start_and_stop() {
  rm -f "$work/out"  # else the previous start's 'listening on' could be read before the redirect
  "$broker" -l 127.0.0.1:0 --data-dir "$work/data" "$@" >"$work/out" 2>"$work/err" &
  pid=$!
  tries=0
  until grep -q ' listening on ' "$work/out" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || failed "flume-broker exited before listening"
    tries=$((tries + 1))
    [ $tries -gt 100 ] && failed "flume-broker did not say 'listening on' within 10 s"
    sleep 0.1
  done
  kill -TERM "$pid"
  wait "$pid" || failed "flume-broker exited with $? after SIGTERM"
  pid=
}

fingerprint() { sed -n 's/.*SHA-256 fingerprint \([0-9A-F:]*\).*/\1/p' "$work/out"; }

mkdir -m 700 "$work/data"
case $case_name in
  damaged_pair_stops_the_broker)
    start_and_stop
    printf 'garbage' >"$work/data/key.pem"
    cp "$work/data/cert.pem" "$work/cert.before"
    status=0
    timeout 20 "$broker" -l 127.0.0.1:0 --data-dir "$work/data" >"$work/out" 2>"$work/err" ||
      status=$?
    [ "$status" -eq 1 ] || failed "expected exit status 1, got $status"
    grep -q 'key.pem is not the key of' "$work/err" || failed "the message does not name key.pem"
    grep -q -- '--regenerate-certificate' "$work/err" || failed "the message gives no way out"
    [ "$(cat "$work/data/key.pem")" = garbage ] || failed "key.pem was changed"
    cmp -s "$work/cert.before" "$work/data/cert.pem" || failed "cert.pem was changed"
    ls "$work/data" | grep -q '\.bak$' && failed "backups were made without being asked"
    ;;
  regenerate_keeps_the_old_pair)
    start_and_stop
    old=$(fingerprint)
    cp "$work/data/cert.pem" "$work/cert.before"
    start_and_stop --regenerate-certificate
    new=$(fingerprint)
    [ -n "$new" ] && [ "$new" != "$old" ] || failed "no new fingerprint ($old -> $new)"
    grep -q 'self-signed, created now' "$work/out" || failed "the start-up lines do not say so"
    grep -q 'kept as' "$work/out" || failed "the start-up lines do not say where the old pair is"
    backup=$(ls "$work/data" | grep '^cert\.pem\..*\.bak$') || failed "no cert.pem backup"
    cmp -s "$work/cert.before" "$work/data/$backup" || failed "the backup is not the old cert.pem"
    ls "$work/data" | grep -q '^key\.pem\..*\.bak$' || failed "no key.pem backup"
    start_and_stop
    [ "$(fingerprint)" = "$new" ] || failed "the regenerated pair was not reused on the next start"
    ;;
  *)
    failed "unknown case"
    ;;
esac
echo "PASS ($case_name)"
