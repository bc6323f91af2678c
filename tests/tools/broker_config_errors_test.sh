#!/bin/sh
# flume-broker's configuration file errors name the file, the line and the key, exit 2, and
# start nothing.
#
#   broker_config_errors_test.sh FLUME_BROKER
set -u
broker=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/flume-broker-config.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
failures=0

# expect NAME CONTENT EXPECTED: the file holding CONTENT is refused with EXPECTED on stderr.
expect() {
  printf '%b' "$2" >"$work/$1.toml"
  status=0
  timeout 20 "$broker" -l 127.0.0.1:0 --data-dir "$work/data" -c "$work/$1.toml" \
    >"$work/out" 2>"$work/err" || status=$?
  if [ "$status" -ne 2 ] || ! grep -qF -- "$3" "$work/err"; then
    echo "FAILED ($1): exit $status, expected 2 and: $3" >&2
    cat "$work/err" >&2
    failures=$((failures + 1))
  fi
  if grep -q ' listening on ' "$work/out"; then
    echo "FAILED ($1): the broker started" >&2
    failures=$((failures + 1))
  fi
}

expect bad_value 'listen = "127.0.0.1:0"\nmax_payload = "big"\n' \
  "max_payload ($work/bad_value.toml line 2) must be a whole number from 1 to 16777216, not 'big'"
expect unknown_key '\n\nmax_conections = 5\n' \
  "$work/unknown_key.toml line 3: unknown key 'max_conections'"
expect section '# the broker\n[broker]\nlisten = "127.0.0.1:0"\n' \
  "$work/section.toml line 2: [broker] is a table, but flume-broker's keys go at the top level"
expect wrong_type 'max_payload = 1.5\n' \
  "$work/wrong_type.toml line 1: 'max_payload' must be a string or an integer"
expect syntax 'listen = \n' "cannot read $work/syntax.toml line 1:"
expect config_inside 'config = "other.toml"\n' \
  "$work/config_inside.toml line 1: 'config' cannot be set inside a config file"

[ "$failures" -eq 0 ] || exit 1
echo "PASS"
