#!/bin/sh
# flume pub and flume sub against a real broker (run under with_broker.sh).
#
#   cli_pub_sub.sh FLUME CASE
. "$(dirname "$0")/cli_test_lib.sh"

# start_sub NAME ARGS...: flume sub in the background, once the broker confirmed the
# subscription; output in $work/NAME.out and .err, pid in $sub_pid.
start_sub() {
  name=$1
  shift
  "$flume" sub --timeout 10000 "$@" >"$work/$name.out" 2>"$work/$name.err" &
  sub_pid=$!
  tries=0
  until grep -q "subscribed to" "$work/$name.err" 2>/dev/null; do
    kill -0 "$sub_pid" 2>/dev/null || failed "flume sub $* exited before subscribing"
    tries=$((tries + 1))
    [ $tries -gt 100 ] && failed "flume sub $* did not subscribe within 10 s"
    sleep 0.1
  done
}

# expect_file FILE TEXT: FILE holds exactly TEXT (printf format).
expect_file() {
  printf "$2" >"$work/expected"
  cmp -s "$work/expected" "$1" || failed "$1 differs from the expected output"
}

case $case_name in
  stdin_lines_round_trip)
    start_sub sub lines -n 3
    printf 'one\ntwo\nthree\n' | "$flume" pub lines 2>"$work/pub.err" || failed "flume pub failed"
    grep -q "published 3 messages" "$work/pub.err" || failed "flume pub did not report 3 messages"
    wait "$sub_pid" || failed "flume sub exited with $?"
    expect_file "$work/sub.out" 'one\ntwo\nthree\n'
    ;;
  count_stops_sub_and_repeats_pub)
    start_sub sub counted -n 4 --format line
    "$flume" pub -q --count 6 counted hello || failed "flume pub --count failed"
    wait "$sub_pid" || failed "flume sub -n 4 exited with $?"
    expect_file "$work/sub.out" 'counted: hello\ncounted: hello\ncounted: hello\ncounted: hello\n'
    ;;
  json_format_text_and_binary)
    start_sub sub 'j.*' -n 2 --format json
    "$flume" pub -q j.text 'say "hi"' || failed "flume pub failed"
    "$flume" pub -q j.bin "$(printf 'A\377B')" || failed "flume pub failed"
    wait "$sub_pid" || failed "flume sub exited with $?"
    expect_file "$work/sub.out" '{"subject":"j.text","payload":"say \\"hi\\"","size":8}\n{"subject":"j.bin","payload":"Qf9C","base64":true,"size":3}\n'
    ;;
  wildcards_select_subjects)
    start_sub one 'orders.*.created' -n 2 --format line
    one_pid=$sub_pid
    start_sub all 'orders.>' -n 4 --format line
    for subject in orders.eu.created orders.eu.deleted orders.us.created orders.eu.x.created; do
      "$flume" pub -q "$subject" x || failed "flume pub $subject failed"
    done
    wait "$one_pid" || failed "flume sub 'orders.*.created' exited with $?"
    wait "$sub_pid" || failed "flume sub 'orders.>' exited with $?"
    expect_file "$work/one.out" 'orders.eu.created: x\norders.us.created: x\n'
    expect_file "$work/all.out" 'orders.eu.created: x\norders.eu.deleted: x\norders.us.created: x\norders.eu.x.created: x\n'
    ;;
  sub_timeout_without_messages_fails)
    "$flume" sub quiet -n 1 --timeout 300 >"$work/out" 2>"$work/err"
    [ $? -eq 1 ] || failed "expected exit status 1"
    grep -q "no message for 300 ms" "$work/err" || failed "no timeout message"
    ;;
  local_broker_trusted_without_flags)
    # No --ca and no FLUME_CA: the self-signed cert.pem in FLUME_DATA_DIR is trusted.
    unset FLUME_CA
    start_sub sub plain -n 1
    "$flume" pub -q plain x || failed "flume pub without trust flags failed"
    wait "$sub_pid" || failed "flume sub without trust flags exited with $?"
    expect_file "$work/sub.out" 'x\n'
    ;;
  insecure_warns)
    env -u FLUME_CA "$flume" pub --insecure plain x 2>"$work/err" || failed "flume pub --insecure failed"
    grep -q "WARNING.*WITHOUT verifying" "$work/err" || failed "no warning for --insecure"
    ;;
  *)
    echo "cli_pub_sub.sh: unknown case '$case_name'" >&2
    exit 2
    ;;
esac
