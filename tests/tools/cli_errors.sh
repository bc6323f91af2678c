#!/bin/sh
# flume's failures: usage errors (status 2), no broker and an untrusted certificate (status 1),
# each with a message that says what to do.
#
#   cli_errors.sh FLUME CASE     (untrusted_certificate runs under with_broker.sh)
. "$(dirname "$0")/cli_test_lib.sh"

# expect STATUS PATTERN ARGS...: flume ARGS exits with STATUS and says PATTERN on stderr.
expect() {
  status=$1
  pattern=$2
  shift 2
  "$flume" "$@" </dev/null >"$work/out" 2>"$work/err"
  actual=$?
  [ $actual -eq "$status" ] || failed "flume $* exited with $actual, not $status"
  if [ -n "$pattern" ]; then
    grep -q -- "$pattern" "$work/err" || failed "flume $*: stderr lacks '$pattern'"
  fi
}

case $case_name in
  usage_errors_exit_2)
    expect 2 "no command given"
    expect 2 "unknown command 'publish'" publish x y
    expect 2 "unknown option '--colour'" sub --colour x
    expect 2 "missing SUBJECT" pub
    expect 2 "missing PATTERN" sub
    expect 2 "unexpected argument 'c'" pub a b c
    expect 2 "empty token" pub 'a..b' x
    expect 2 "--count must be a whole number" pub --count zero a x
    expect 2 "--format must be payload, line, json or raw" sub --format xml a
    expect 2 "--overflow must be drop-oldest, drop-newest or close" sub --overflow drop a
    expect 2 "--timeout needs a value" sub a --timeout
    expect 2 "are alternatives" pub --pin AA:BB --insecure a x
    expect 2 "--size must be a whole number from 16" bench --size 8
    expect 2 "(see flume sub --help)" sub
    ;;
  help_and_version_exit_0)
    expect 0 "" --help
    grep -q "usage: flume COMMAND" "$work/out" || failed "flume --help prints no usage"
    for command in pub sub bench; do
      expect 0 "" "$command" --help
      grep -q "usage: flume $command" "$work/out" || failed "flume $command --help prints no usage"
      grep -q -- "--server URL" "$work/out" || failed "flume $command --help lacks the common options"
    done
    expect 0 "" --version
    grep -q "^flume [0-9]" "$work/out" || failed "flume --version prints no version"
    ;;
  no_broker_is_unreachable)
    # UDP port 9 (discard): nothing listens on loopback, so the answer is ICMP port unreachable.
    expect 1 "cannot reach a broker at flume://127.0.0.1:9" pub -s flume://127.0.0.1:9 --insecure --timeout 3000 a x
    grep -q "Is flume-broker running there" "$work/err" || failed "no hint about the broker"
    ;;
  untrusted_certificate)
    # A certificate that did not sign the broker's: made here, or the system's public CAs.
    wrong="$work/wrong.pem"
    if ! openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$wrong" \
         -days 1 -subj /CN=wrong >/dev/null 2>&1; then
      wrong=/etc/ssl/certs/ca-certificates.crt
    fi
    expect 1 "certificate" pub --ca "$wrong" a x
    grep -q -- "--ca <broker data dir>/cert.pem" "$work/err" || failed "no hint about --ca"
    grep -q -- "--pin" "$work/err" || failed "no hint about --pin"
    ;;
  *)
    echo "cli_errors.sh: unknown case '$case_name'" >&2
    exit 2
    ;;
esac
