#!/usr/bin/env bash
# Installs the Debian package, uses what it installed, purges it and checks that nothing is left.
# Usage: tests/packaging/package_test.sh build/packages/flume_<version>_<arch>.deb
#
# As root only (it installs a package, creates a system user): skips otherwise, and skips when a
# flume package it did not install is present. With the package installed it checks the files,
# starts the installed broker as the unit does (its User=, Environment= and ExecStart= lines; no
# systemd here, so without the unit's sandbox) on a loopback port, does a sub/pub round trip with
# the installed flume trusting the broker's certificate, builds and runs a C program through the
# installed flume.pc, stops the broker with SIGINT (a clean exit), then purges the package and
# checks that its files, /etc/flume, /var/lib/flume and the user flume are gone. Every wait is
# bounded; only processes it started are stopped, by PID; the package is purged on any failure.
set -euo pipefail

deb=${1:?usage: package_test.sh FILE.deb}
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: package_test.sh needs root (it installs and purges the flume package)"
  exit 0
fi
status=$(dpkg-query -W -f='${db:Status-Status}' flume 2>/dev/null || true)
if [ -n "$status" ] && [ "$status" != not-installed ]; then
  echo "SKIP: a flume package is already on this machine ($status) and this test did not install" \
    "it; remove it first (apt-get purge flume) to run the test"
  exit 0
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
version=$(tr -d '[:space:]' <"$root/VERSION")
# The soname follows the major version (SOVERSION in capi/CMakeLists.txt).
soname="libflume.so.${version%%.*}"
deb=$(realpath "$deb")
unit=/lib/systemd/system/flume-broker.service
data_dir=/var/lib/flume
work=$(mktemp -d)
start_time=$SECONDS

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "package_test: $* ($((SECONDS - start_time)) s)"; }

# Leftovers of an earlier run would make "nothing is left" meaningless.
getent passwd flume >/dev/null && fail "a user flume exists without the flume package (left over?)"
[ -e "$data_dir" ] && fail "$data_dir exists without the flume package (left over?)"
[ -e /etc/flume ] && fail "/etc/flume exists without the flume package (left over?)"

installed=0 broker_pid="" sub_pid=""
cleanup() {
  local rc=$?
  for pid in $sub_pid $broker_pid; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ "$installed" = 1 ]; then
    echo "package_test: purging the package after a failure" >&2
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq flume >/dev/null 2>&1 ||
      dpkg --purge flume >/dev/null 2>&1 || true
  fi
  if [ "$rc" -ne 0 ]; then
    for log in "$work"/*.log; do
      [ -s "$log" ] && { echo "--- $(basename "$log")" >&2; tail -n 30 "$log" >&2; }
    done
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for SECONDS COMMAND...: true once COMMAND succeeds, false when the time is up.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# --- install -----------------------------------------------------------------------------------
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "$deb is not version $version (VERSION)"
# Which of the package's directories exist before it does: only those may stay after the purge.
mapfile -t package_paths < <(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's#^\./#/#; s#/$##' |
  grep -v '^$')
preexisting=()
for path in "${package_paths[@]}"; do
  [ -d "$path" ] && preexisting+=("$path")
done
step "installing $(basename "$deb")"
installed=1
DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends "$deb" \
  >"$work/apt-install.log" 2>&1 || fail "apt-get install failed"
[ "$(dpkg-query -W -f='${db:Status-Status}' flume)" = installed ] || fail "flume is not installed"

# --- files -------------------------------------------------------------------------------------
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
for file in /usr/bin/flume-broker /usr/bin/flume /usr/bin/flume-inspect \
  "/usr/lib/$multiarch/$soname" "/usr/lib/$multiarch/libflume.so" \
  /usr/include/flume/flume.h /usr/include/flume/version.h \
  "/usr/lib/$multiarch/pkgconfig/flume.pc" "$unit" /etc/flume/flume-broker.toml \
  /usr/share/man/man1/flume-broker.1.gz /usr/share/man/man1/flume.1.gz \
  /usr/share/man/man1/flume-inspect.1.gz; do
  [ -e "$file" ] || fail "$file is not installed"
done
# grep -q on a variable, not a pipe: with pipefail, grep quitting early fails the pipeline.
dynamic=$(objdump -p "/usr/lib/$multiarch/$soname")
grep -qE "SONAME +${soname//./\\.}\$" <<<"$dynamic" ||
  fail "$soname does not have the soname $soname"
for program in flume-broker flume flume-inspect; do
  got=$("/usr/bin/$program" --version)
  [ "$got" = "$program $version" ] || fail "$program --version says '$got'"
done
man_page=$(zcat /usr/share/man/man1/flume-broker.1.gz)
grep -qF 'data\-dir' <<<"$man_page" ||
  fail "flume-broker's man page does not list its options"
[ "$(pkg-config --modversion flume)" = "$version" ] || fail "pkg-config --modversion flume"
[ "$(pkg-config --variable=prefix flume)" = /usr ] || fail "flume.pc's prefix is not /usr"
getent passwd flume >/dev/null || fail "the package did not create the user flume"
[ "$(stat -c %U "$data_dir")" = flume ] || fail "$data_dir does not belong to flume"

# --- the broker, as the unit starts it ---------------------------------------------------------
user=$(sed -n 's/^User=//p' "$unit")
group=$(sed -n 's/^Group=//p' "$unit")
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[ -n "$user" ] && [ -n "$group" ] && [ "$(grep -c '^ExecStart=' "$unit")" = 1 ] ||
  fail "$unit needs one User=, Group= and ExecStart= line"
read -ra command <<<"$exec_start"
# What systemd gives a service: its default PATH, the user's identity and home, Environment=.
environment=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin USER="$user" LOGNAME="$user"
  HOME="$(getent passwd "$user" | cut -d: -f6)" SHELL="$(getent passwd "$user" | cut -d: -f7)")
while IFS= read -r assignment; do
  environment+=("$assignment")
done < <(sed -n 's/^Environment=//p' "$unit")

port=""
for _ in $(seq 20); do
  candidate=$((20000 + RANDOM % 20000))
  if [ -z "$(ss -Huln "sport = :$candidate")" ]; then
    port=$candidate
    break
  fi
done
[ -n "$port" ] || fail "no free UDP port found"
step "starting '$exec_start' as $user on 127.0.0.1:$port"
# exec: the PID is the broker's, so SIGINT reaches it and nothing else.
(cd / && exec setpriv --reuid="$user" --regid="$group" --init-groups \
  env -i "${environment[@]}" "${command[@]}" --listen "127.0.0.1:$port") >"$work/broker.log" 2>&1 &
broker_pid=$!
broker_up() {
  kill -0 "$broker_pid" 2>/dev/null || fail "the broker exited at start"
  grep -q 'listening on' "$work/broker.log"
}
wait_for 20 broker_up || fail "the broker did not start within 20 s"
[ "$(ps -o user= -p "$broker_pid")" = "$user" ] || fail "the broker does not run as $user"
[ -s "$data_dir/cert.pem" ] || fail "the broker made no certificate in $data_dir"
[ "$(stat -c %a "$data_dir/key.pem")" = 600 ] || fail "key.pem is not 0600"

# --- a round trip with the installed CLI, as an unprivileged user trusting cert.pem ------------
client=(setpriv --reuid=nobody --regid=nogroup --clear-groups --
  /usr/bin/flume --server "flume://127.0.0.1:$port" --ca "$data_dir/cert.pem" --timeout 5000)
message="hello from the package test $$"
step "round trip through the broker"
timeout 30 "${client[@]}" sub --count 1 'packaging.>' >"$work/sub.out" 2>"$work/sub.log" &
sub_pid=$!
subscribed() {
  kill -0 "$sub_pid" 2>/dev/null || fail "flume sub exited before subscribing"
  grep -q 'subscribed to' "$work/sub.log"
}
wait_for 20 subscribed || fail "flume sub did not subscribe within 20 s"
timeout 20 "${client[@]}" pub packaging.test "$message" >"$work/pub.log" 2>&1 || fail "flume pub"
sub_done() { ! kill -0 "$sub_pid" 2>/dev/null; }
wait_for 20 sub_done || fail "flume sub did not receive a message within 20 s"
wait "$sub_pid" || fail "flume sub failed"
sub_pid=""
grep -qF "$message" "$work/sub.out" || fail "flume sub printed '$(cat "$work/sub.out")'"

# --- a C program through the installed flume.pc ------------------------------------------------
step "C program through pkg-config"
cat >"$work/version.c" <<'EOF'
#include <flume/flume.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  printf("%s\n", flume_version());
  /* The header and the library must be the same release. */
  return strcmp(flume_version(), FLUME_VERSION) == 0 &&
                 flume_version_number() == FLUME_VERSION_NUMBER
             ? 0
             : 1;
}
EOF
# shellcheck disable=SC2046  # pkg-config prints a word list
cc -Wall -Werror -o "$work/version" "$work/version.c" $(pkg-config --cflags --libs flume) \
  >"$work/cc.log" 2>&1 || fail "the C program does not build with the installed flume.pc"
linked=$(ldd "$work/version" | awk -v soname="$soname" '$1 == soname {print $3}')
[ -n "$linked" ] && [ "$(realpath "$linked")" = "$(realpath "/usr/lib/$multiarch/$soname")" ] ||
  fail "the C program does not use the installed $soname (it uses '$linked')"
[ "$("$work/version")" = "$version" ] || fail "flume_version() is not $version"

# --- stop: SIGINT, a graceful and clean exit ---------------------------------------------------
step "stopping the broker (SIGINT)"
kill -INT "$broker_pid"
broker_gone() { ! kill -0 "$broker_pid" 2>/dev/null; }
wait_for 15 broker_gone || fail "the broker did not exit within 15 s of SIGINT"
broker_rc=0
wait "$broker_pid" || broker_rc=$?
broker_pid=""
[ "$broker_rc" = 0 ] || fail "the broker exited with $broker_rc after SIGINT"

# --- purge: nothing is left --------------------------------------------------------------------
step "purging the package"
DEBIAN_FRONTEND=noninteractive timeout 300 apt-get purge -y -qq flume >"$work/apt-purge.log" 2>&1 ||
  fail "apt-get purge failed"
installed=0
status=$(dpkg-query -W -f='${db:Status-Status}' flume 2>/dev/null || true)
[ -z "$status" ] || [ "$status" = not-installed ] || fail "flume is still known to dpkg: $status"
left=()
for path in "${package_paths[@]}"; do
  [ -e "$path" ] || [ -L "$path" ] || continue
  [[ " ${preexisting[*]} " == *" $path "* ]] || left+=("$path")
done
for path in "$data_dir" /etc/flume; do
  [ -e "$path" ] && left+=("$path")
done
shopt -s nullglob
left+=(/etc/systemd/system/*/flume-broker.service /var/lib/systemd/deb-systemd-helper-enabled/*flume*)
shopt -u nullglob
[ ${#left[@]} -eq 0 ] || fail "left after the purge: ${left[*]}"
getent passwd flume >/dev/null && fail "the user flume is left after the purge"
getent group flume >/dev/null && fail "the group flume is left after the purge"

step "PASS"
