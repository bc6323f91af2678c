#!/bin/sh
# flume token: keygen, issue and inspect as an operator uses them, offline (no broker).
#
#   cli_token.sh FLUME CASE
. "$(dirname "$0")/cli_test_lib.sh"

# run STATUS ARGS...: flume ARGS exits with STATUS; stdout in $work/out, stderr in $work/err.
run() {
  status=$1
  shift
  "$flume" "$@" </dev/null >"$work/out" 2>"$work/err"
  actual=$?
  [ $actual -eq "$status" ] || failed "flume $* exited with $actual, not $status"
}
has() { grep -q -- "$2" "$work/$1" || failed "$1 lacks '$2'"; }

case $case_name in
  token_issue_inspect_verify)
    mkdir "$work/keys"
    run 0 token keygen --out "$work/keys"
    id=$(sed -n 's/^key id: //p' "$work/out")
    [ ${#id} -eq 16 ] || failed "keygen printed no 16-digit key id"
    pub="$work/keys/operator-$id.pub"
    secret="$work/keys/operator-$id.secret"
    grep -q '^flpk1\.' "$pub" || failed "no public key in $pub"
    grep -q '^flsk1\.' "$secret" || failed "no secret key in $secret"
    [ "$(stat -c %a "$secret")" = 600 ] || failed "the secret key is not mode 600"
    # keygen never replaces a key file.
    run 0 token keygen --out "$work/keys"
    [ "$(ls "$work/keys" | wc -l)" -eq 4 ] || failed "a second keygen did not add two files"

    run 0 token issue --key "$secret" --tenant acme --subject user.alice --pub 'billing.>' \
      --sub 'orders.*.created' --sub 'metrics.>' --deny-sub 'metrics.secret.>' --expires 2h
    token=$(cat "$work/out")
    case $token in flt1.*) ;; *) failed "issue printed no flt1. token" ;; esac
    printf '%s\n' "$token" >"$work/token.txt"

    run 0 token inspect --key "$pub" "$token"
    has out "tenant: *acme"
    has out "subject: *user.alice"
    has out "publish allow: *billing.>"
    has out "subscribe allow: *orders.\*.created metrics.>"
    has out "subscribe deny: *metrics.secret.>"
    has out "key id: *$id"
    has out "verified: *yes"
    # The token from a file and from stdin; without a key, fields but no verification.
    run 0 token inspect "$work/token.txt"
    has out "verified: *no (no --key given"
    printf '%s\n' "$token" | "$flume" token inspect --key "$pub" - >"$work/out" 2>"$work/err" ||
      failed "inspect from stdin failed"
    has out "verified: *yes"
    ;;
  token_verification_failures_exit_4)
    run 0 token keygen
    pub=$(sed -n 1p "$work/out")
    secret=$(sed -n 2p "$work/out")
    run 0 token keygen
    other_pub=$(sed -n 1p "$work/out")
    other_secret=$(sed -n 2p "$work/out")

    run 0 token issue --key "$secret" --tenant acme --subject svc --sub '>' --expires 1h
    token=$(cat "$work/out")
    now=$(date +%s)
    # A token for another operator key.
    run 4 token inspect --key "$other_pub" "$token"
    has err "does not know"
    # Rotation: both keys trusted, a token of either verifies.
    run 0 token issue --key "$other_secret" --tenant acme --subject svc --sub '>'
    other_token=$(cat "$work/out")
    printf '%s\n%s\n' "$pub" "$other_pub" >"$work/trusted"
    run 0 token inspect --key "$work/trusted" "$token"
    run 0 token inspect --key "$pub" --key "$other_pub" "$other_token"
    # Expired, with the 60 s skew allowance at the edge (the token expires within 1 s of now+3600).
    run 4 token inspect --key "$pub" --at $((now + 3600 + 62)) "$token"
    has err "has expired"
    run 0 token inspect --key "$pub" --at $((now + 3600 + 58)) "$token"
    # Not yet valid.
    run 0 token issue --key "$secret" --tenant acme --subject svc --sub '>' --not-before +1h --expires 2h
    later=$(cat "$work/out")
    run 4 token inspect --key "$pub" "$later"
    has err "not valid yet"
    # A forged token: one character of the signature changed.
    last=$(printf '%s' "$token" | tail -c 2 | head -c 1)
    if [ "$last" = A ]; then swap=B; else swap=A; fi
    forged="$(printf '%s' "$token" | head -c $((${#token} - 2)))$swap$(printf '%s' "$token" | tail -c 1)"
    run 4 token inspect --key "$pub" "$forged"
    has err "forged or altered"
    # Truncated and oversized: malformed (status 1) with the reason.
    run 1 token inspect --key "$pub" "$(printf '%s' "$token" | head -c 60)"
    has err "malformed"
    run 1 token inspect "flt1.$(head -c 9000 /dev/zero | tr '\0' A)"
    has err "longer than 8192"
    ;;
  token_usage_errors_exit_2)
    run 0 token keygen
    pub=$(sed -n 1p "$work/out")
    secret=$(sed -n 2p "$work/out")
    run 2 token
    has err "no token command given"
    run 2 token issue --tenant acme --subject s
    has err "missing --key"
    run 2 token issue --key "$secret" --tenant acme --subject s --sub 'a.>.b'
    has err "'a.>.b' is invalid"
    run 2 token issue --key "$secret" --tenant a.b --subject s
    has err "one token"
    run 2 token issue --key "$secret" --tenant acme --subject s --expires soon
    has err "must be a duration"
    run 2 token inspect --key flpk1.AAAA flt1.AAAA
    has err "32 bytes"
    run 1 token issue --key "$pub" --tenant acme --subject s
    has err "issuing takes the secret key"
    run 0 token --help
    has out "usage: flume token"
    for command in keygen issue inspect; do
      run 0 token $command --help
      has out "usage: flume token $command"
    done
    ;;
  *)
    failed "unknown case"
    ;;
esac
exit 0
