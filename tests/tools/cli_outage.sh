#!/bin/sh
# flume sub and flume pub while their broker is killed (SIGKILL) and restarted on the same port
# and data directory: nothing missed without a word, and exit statuses that tell the truth.
#
#   cli_outage.sh FLUME CASE BROKER
. "$(dirname "$0")/cli_test_lib.sh"
broker=$3
broker_pid=

start_broker() {  # start_broker LISTEN: in the background, once it says where it listens
  rm -f "$work/broker.log"
  "$broker" -l "$1" --data-dir "$work/data" >"$work/broker.log" 2>&1 &
  broker_pid=$!
  tries=0
  address=
  # Until the whole line is there: a read can catch it half written. (The log was removed
  # first: the redirect happens in the child, so this shell could otherwise read the previous
  # start's lines before the file is truncated.)
  until [ -n "$address" ]; do
    kill -0 "$broker_pid" 2>/dev/null || failed "flume-broker exited before listening"
    tries=$((tries + 1))
    [ $tries -gt 200 ] && failed "flume-broker did not listen within 20 s"
    sleep 0.1
    address=$(sed -n 's/.* listening on \([^ ]*\) .*/\1/p' "$work/broker.log" 2>/dev/null)
  done
  FLUME_SERVER="flume://$address"
  FLUME_CA="$work/data/cert.pem"
  export FLUME_SERVER FLUME_CA
}

kill_broker() {
  kill -KILL "$broker_pid" 2>/dev/null
  wait "$broker_pid" 2>/dev/null
}

# The scratch directory goes after the broker and every background job are gone.
trap 'kill_broker; for job in $(jobs -p); do kill -KILL "$job" 2>/dev/null; done; rm -rf "$work"' EXIT

# wait_for FILE TEXT SECONDS: until FILE contains TEXT.
wait_for() {
  tries=0
  until grep -q "$2" "$1" 2>/dev/null; do
    tries=$((tries + 1))
    [ $tries -gt $(($3 * 10)) ] && failed "no '$2' in $1 within $3 s"
    sleep 0.1
  done
}

start_sub() {  # start_sub NAME ARGS...: flume sub in the background, pid in $sub_pid
  name=$1
  shift
  "$flume" sub --timeout 20000 "$@" >"$work/$name.out" 2>"$work/$name.err" &
  sub_pid=$!
  wait_for "$work/$name.err" "subscribed to" 10
}

restart_broker() {
  kill_broker
  start_broker "$address"
}

mkdir -p "$work/data"
start_broker 127.0.0.1:0

case $case_name in
  sub_reports_a_restart_and_exits_3)
    start_sub sub -n 2 restart.x
    "$flume" pub -q restart.x one || failed "flume pub one"
    wait_for "$work/sub.out" one 10
    restart_broker
    wait_for "$work/sub.err" "subscription made again" 15
    "$flume" pub -q restart.x two || failed "flume pub two"
    wait "$sub_pid"
    status=$?
    [ $status -eq 3 ] || failed "flume sub exited with $status, not 3 (messages were missed)"
    printf 'one\ntwo\n' >"$work/expected"
    cmp -s "$work/expected" "$work/sub.out" || failed "flume sub printed something else"
    ;;
  exit_on_gap_stops_at_the_first_gap)
    start_sub sub --exit-on-gap restart.x
    "$flume" pub -q restart.x one || failed "flume pub one"
    wait_for "$work/sub.out" one 10
    restart_broker
    wait "$sub_pid"
    status=$?
    [ $status -eq 3 ] || failed "flume sub --exit-on-gap exited with $status, not 3"
    grep -q "exit-on-gap" "$work/sub.err" || failed "flume sub did not say why it stopped"
    ;;
  pub_rides_out_a_restart_and_accounts_for_every_line)
    # 600 lines over about 6 s; the broker is killed after 2 s and back 0.5 s later.
    (
      i=0
      while [ $i -lt 600 ]; do
        echo "line $i"
        i=$((i + 1))
        [ $((i % 10)) -eq 0 ] && sleep 0.1
      done
    ) | "$flume" pub --timeout 15000 trickle >"$work/pub.out" 2>"$work/pub.err" &
    pub_pid=$!
    sleep 2
    kill_broker
    sleep 0.5
    start_broker "$address"
    wait "$pub_pid"
    status=$?
    [ $status -eq 0 ] || [ $status -eq 3 ] || failed "flume pub exited with $status"
    if [ $status -eq 3 ]; then
      grep -q "sent 600 messages to 'trickle': [0-9]* confirmed by the broker, [0-9]* in doubt" \
        "$work/pub.err" || failed "flume pub did not account for the 600 lines"
      confirmed=$(sed -n 's/.*: \([0-9]*\) confirmed by the broker, \([0-9]*\) in doubt.*/\1/p' "$work/pub.err")
      doubt=$(sed -n 's/.*: \([0-9]*\) confirmed by the broker, \([0-9]*\) in doubt.*/\2/p' "$work/pub.err")
      [ $((confirmed + doubt)) -eq 600 ] || failed "confirmed $confirmed + in doubt $doubt is not 600"
      # A 200 ms window and a second to notice the loss: a few seconds' worth at most.
      [ "$doubt" -le 300 ] || failed "$doubt lines in doubt: more than the outage can explain"
    else
      grep -q "published 600 messages.*all confirmed" "$work/pub.err" ||
        failed "flume pub exited 0 without confirming 600 messages"
    fi
    grep -q "connected again" "$work/pub.err" || grep -q "in doubt" "$work/pub.err" ||
      failed "flume pub said nothing about the lost connection"
    ;;
  paused_sub_accounts_for_every_message)
    # flume sub stopped (SIGSTOP) for 3 s while 20000 messages are published: what it printed
    # and the drops it reported add up to what was published.
    start_sub sub --timeout 3000 --queue 64 paused.x
    kill -STOP "$sub_pid"
    "$flume" pub -q --count 20000 paused.x 0123456789abcdef || failed "flume pub"
    sleep 3
    kill -CONT "$sub_pid"
    wait "$sub_pid"
    status=$?
    printed=$(wc -l <"$work/sub.out")
    dropped=$(sed -n 's/.*: \([0-9]*\) messages\{0,1\} dropped in all.*/\1/p' "$work/sub.err")
    dropped=${dropped:-0}
    [ $((printed + dropped)) -eq 20000 ] ||
      failed "printed $printed + dropped $dropped is not the 20000 published"
    if [ "$dropped" -gt 0 ]; then
      [ $status -eq 3 ] || failed "flume sub missed $dropped but exited with $status, not 3"
    else
      [ $status -eq 0 ] || failed "flume sub exited with $status"
    fi
    ;;
  *)
    echo "unknown case $case_name" >&2
    exit 2
    ;;
esac
