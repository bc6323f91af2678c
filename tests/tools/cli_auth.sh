#!/bin/sh
# A broker that requires access tokens, used from the command line as an operator would:
# flume token keygen and issue, flume-broker --auth-key, then flume sub/pub --token allowed and
# refused, and FLUME_TOKEN. Real broker, real QUIC on 127.0.0.1.
#
#   cli_auth.sh FLUME CASE BROKER
. "$(dirname "$0")/cli_test_lib.sh"
broker=$3
pid=
stop() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    tries=0
    while kill -0 "$pid" 2>/dev/null && [ $tries -lt 50 ]; do sleep 0.1; tries=$((tries + 1)); done
    kill -KILL "$pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap stop EXIT

mkdir "$work/keys" "$work/data"
"$flume" token keygen --out "$work/keys" >"$work/keygen" 2>&1 || failed "keygen failed"
id=$(sed -n 's/^key id: //p' "$work/keygen")
secret="$work/keys/operator-$id.secret"
pub=$(cat "$work/keys/operator-$id.pub")

"$broker" -l 127.0.0.1:0 --data-dir "$work/data" --auth-key "$pub" >"$work/broker.log" 2>&1 &
pid=$!
tries=0
until grep -q ' listening on ' "$work/broker.log" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || failed "flume-broker exited"
  tries=$((tries + 1))
  [ $tries -le 100 ] || failed "flume-broker did not start"
  sleep 0.1
done
grep -q "access tokens: required, signed by 1 key(s): $id" "$work/broker.log" ||
  failed "the broker did not say tokens are required"
address=$(sed -n 's/.* listening on \([^ ]*\) .*/\1/p' "$work/broker.log")
FLUME_SERVER="flume://$address"
FLUME_CA="$work/data/cert.pem"
export FLUME_SERVER FLUME_CA

token=$("$flume" token issue --key "$secret" --tenant acme --subject user.alice \
  --pub 'orders.>' --sub 'orders.*' --expires 10m) || failed "issue failed"

case $case_name in
  auth_token_allows_and_denies)
    # Allowed: sub orders.* receives what pub --token sends to orders.eu.
    "$flume" sub --token "$token" --count 1 --timeout 10000 'orders.*' >"$work/sub.out" 2>"$work/sub.err" &
    sub=$!
    sleep 1
    "$flume" pub --token "$token" orders.eu hello >"$work/pub.out" 2>"$work/pub.err" ||
      failed "pub to a granted subject failed"
    wait $sub || failed "sub of a granted pattern failed"
    grep -q hello "$work/sub.out" || failed "sub did not receive the message"

    # Refused: a pattern the token does not cover.
    "$flume" sub --token "$token" --count 1 --timeout 3000 'orders.>' >"$work/deny.out" 2>"$work/deny.err"
    [ $? -eq 1 ] || failed "sub of an ungranted pattern did not exit 1"
    grep -q "PERMISSION_DENIED\|not granted" "$work/deny.err" || failed "no denial reason on stderr"

    # No token at all: refused at connect, with the reason.
    "$flume" sub --count 1 --timeout 3000 'orders.*' >"$work/none.out" 2>"$work/none.err"
    [ $? -eq 1 ] || failed "sub without a token did not exit 1"
    grep -q "token required" "$work/none.err" || failed "no 'token required' on stderr"

    # FLUME_TOKEN is the default for --token.
    FLUME_TOKEN=$token "$flume" pub orders.us again >"$work/env.out" 2>"$work/env.err" ||
      failed "pub with FLUME_TOKEN failed"
    ;;
  *)
    failed "unknown case"
    ;;
esac
