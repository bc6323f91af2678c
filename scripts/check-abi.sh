#!/usr/bin/env bash
# Checks that libflume.so keeps the ABI recorded in capi/abi/libflume.abi: since 1.0.0 the ABI only
# grows. Fails on any change to what the baseline has (a symbol removed or changed, a type of the
# public header changed, even a struct that grew) and passes when symbols were only added.
#
#   scripts/check-abi.sh [LIBFLUME_SO]            compare a library with the baseline
#   scripts/check-abi.sh --update [LIBFLUME_SO]   rewrite the baseline from a library
#
# Without LIBFLUME_SO it builds one in build/abi (RelWithDebInfo, no sanitizers, only the library,
# $JOBS jobs: 2 by default).
# The library needs its debug information (-g): abidw reads the types from it. Only the types of
# capi/include/flume are recorded, so the C++ core behind the C ABI can change freely.
# Needs abidw and abidiff (Debian: abigail-tools); without them it exits 77, which ctest reports
# as skipped. ctest runs it on the library it built as abi.check. Exit status: 0 the ABI is kept
# (or only grew), 1 it changed, 2 the check itself failed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
baseline=$root/capi/abi/libflume.abi
suppressions=$root/capi/abi/public-only.suppr
headers=$root/capi/include/flume

update=0
if [ "${1:-}" = "--update" ]; then
  update=1
  shift
fi
lib=${1:-}

for tool in abidw abidiff; do
  command -v "$tool" >/dev/null || {
    echo "check-abi: $tool is not installed (Debian: apt-get install abigail-tools)" >&2
    exit 77 # "skipped" for ctest
  }
done

if [ -z "$lib" ]; then
  build=$root/build/abi
  echo "check-abi: building libflume.so in $build"
  # clang, as in the developer presets: its debug information gives a baseline a quarter the size
  # of GCC's (either compiler's library checks against it).
  compilers=()
  if command -v clang >/dev/null && command -v clang++ >/dev/null; then
    compilers=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++)
  fi
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLUME_BUILD_TESTS=OFF \
    -DFLUME_BUILD_BENCHMARKS=OFF -DFLUME_WERROR=OFF "${compilers[@]}" >/dev/null
  cmake --build "$build" --target flume --parallel "${JOBS:-2}"
  lib=$build/capi/libflume.so
fi
[ -f "$lib" ] || { echo "check-abi: no library at $lib" >&2; exit 2; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Only what flume.h declares (see public-only.suppr), without locations, compilation directories
# or the checkout's path: the file is the same from any checkout and any build type.
abidw --headers-dir "$headers" --drop-private-types --suppressions "$suppressions" \
  --no-corpus-path --no-comp-dir-path --no-show-locs --no-elf-needed --type-id-style hash \
  --out-file "$scratch/raw.abi" "$lib"
sed "s|$root/||g" "$scratch/raw.abi" >"$scratch/libflume.abi"

if [ "$update" = 1 ]; then
  mkdir -p "$(dirname "$baseline")"
  cp "$scratch/libflume.abi" "$baseline"
  echo "check-abi: wrote ${baseline#"$root"/} from $lib"
  exit 0
fi

[ -f "$baseline" ] || {
  echo "check-abi: no baseline at ${baseline#"$root"/}; make it with: scripts/check-abi.sh --update" >&2
  exit 2
}

status=0
abidiff --no-show-locs --suppressions "$suppressions" "$baseline" "$scratch/libflume.abi" \
  >"$scratch/report" || status=$?
# abidiff's status is a bit mask: 1 error, 2 usage, 4 a change, 8 an incompatible change.
if [ "$status" = 0 ]; then
  echo "check-abi: libflume.so has the ABI of the baseline"
  exit 0
fi
if (((status & 3) != 0)); then
  cat "$scratch/report" >&2
  echo "check-abi: abidiff failed (status $status)" >&2
  exit 2
fi
# Growth only: nothing removed or changed, functions or variables added.
if ((status == 4)) &&
  grep -Eq '^Functions changes summary: 0 Removed, 0 Changed' "$scratch/report" &&
  grep -Eq '^Variables changes summary: 0 Removed, 0 Changed' "$scratch/report" &&
  ! grep -Eq 'SONAME changed|ELF architecture changed|[1-9][0-9]* (Removed|Changed)' "$scratch/report"; then
  cat "$scratch/report"
  echo "check-abi: the ABI grew (above); record it in the same commit that adds the symbols:"
  echo "  scripts/check-abi.sh --update && git add capi/abi/libflume.abi"
  exit 0
fi
cat "$scratch/report" >&2
cat >&2 <<EOF
check-abi: libflume.so breaks the ABI of ${baseline#"$root"/} (above).
  A 1.x library must not remove or change what 1.0.0 published: add new functions and append
  fields to option/stats structs instead. If the change is intended (a struct grew at its end,
  read only when struct_size covers it), record it in the same commit:
    scripts/check-abi.sh --update && git add capi/abi/libflume.abi
EOF
exit 1
