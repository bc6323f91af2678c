#!/bin/sh
# Runs a command next to a fresh flume-broker and stops the broker afterwards, even on failure.
#
#   with_broker.sh BROKER COMMAND [ARGUMENT...]
#
# The broker listens on 127.0.0.1 with a port the system picks and a temporary data directory.
# The command runs with FLUME_SERVER (its URL), FLUME_CA (its self-signed cert.pem),
# FLUME_DATA_DIR (the directory) and FLUME_BROKER_PID set; its exit status is the script's.
set -u

if [ $# -lt 2 ]; then
  echo "usage: with_broker.sh BROKER COMMAND [ARGUMENT...]" >&2
  exit 2
fi
broker=$1
shift

dir=$(mktemp -d "${TMPDIR:-/tmp}/flume-with-broker.XXXXXX") || exit 1
pid=

stop_broker() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    # A graceful shutdown with no clients is immediate; do not wait forever for one that hangs.
    tries=0
    while kill -0 "$pid" 2>/dev/null && [ $tries -lt 50 ]; do
      sleep 0.1
      tries=$((tries + 1))
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  rm -rf "$dir"
}
trap stop_broker EXIT
trap 'exit 130' INT TERM

"$broker" -l 127.0.0.1:0 --data-dir "$dir" >"$dir/broker.log" 2>&1 &
pid=$!

tries=0
until grep -q ' listening on ' "$dir/broker.log" 2>/dev/null; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "with_broker.sh: flume-broker exited before listening:" >&2
    cat "$dir/broker.log" >&2
    exit 1
  fi
  tries=$((tries + 1))
  if [ $tries -gt 100 ]; then
    echo "with_broker.sh: flume-broker did not say 'listening on' within 10 s:" >&2
    cat "$dir/broker.log" >&2
    exit 1
  fi
  sleep 0.1
done

address=$(sed -n 's/.* listening on \([^ ]*\) .*/\1/p' "$dir/broker.log")
FLUME_SERVER="flume://$address"
FLUME_CA="$dir/cert.pem"
FLUME_DATA_DIR="$dir"
FLUME_BROKER_PID=$pid
export FLUME_SERVER FLUME_CA FLUME_DATA_DIR FLUME_BROKER_PID

"$@"
status=$?
if [ $status -ne 0 ]; then
  echo "with_broker.sh: '$*' exited with $status; the broker's log:" >&2
  cat "$dir/broker.log" >&2
fi
exit $status
