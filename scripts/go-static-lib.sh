#!/usr/bin/env bash
# Makes the prefix that `go build -tags flume_static` links from, for machines without the Debian
# package: libflume.a and the two ngtcp2 archives it needs, flume.h and version.h, and a
# relocatable flume.pc. GnuTLS is not in it: the Go binding links it as a shared library (it is
# LGPL, and on every Debian-like system), so it needs libgnutls28-dev where the program is built
# and libgnutls30 where it runs.
#
#   scripts/go-static-lib.sh [--build DIR] [--out DIR] [--tar FILE]
#     --build DIR  a configured CMake build of this tree (default build/release; configured with
#                  the release preset and built if missing: libflume only, nice, 2 jobs)
#     --out DIR    where the prefix goes (default build/go-static/<goos>_<goarch>)
#     --tar FILE   also pack the prefix into FILE (.tar.gz) to hand to users
#
# Then:  PKG_CONFIG_PATH=<out>/lib/pkgconfig go build -tags flume_static ./...
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
platform="$(uname -s | tr '[:upper:]' '[:lower:]')_$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')"
build="$root/build/release"
out="$root/build/go-static/$platform"
tar=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --tar) tar="$2"; shift 2 ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "go-static-lib: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

if [ ! -f "$build/CMakeCache.txt" ]; then
  [ "$build" = "$root/build/release" ] || { echo "go-static-lib: $build is not a CMake build" >&2; exit 1; }
  (cd "$root" && cmake --preset release >/dev/null)
fi
nice cmake --build "$build" -j2 --target flume flume_static >/dev/null

# Only the C ABI's own install rules (capi/), not the programs'.
rm -rf "$out"
cmake -DCMAKE_INSTALL_PREFIX="$out" -P "$build/capi/cmake_install.cmake" >/dev/null
rm -f "$out"/lib/libflume.so*
# ngtcp2 from the system's -dev packages (bookworm-backports): found the way flume.pc finds them.
for lib in libngtcp2 libngtcp2_crypto_gnutls; do
  dir="$(pkg-config --variable=libdir "$lib")"
  [ -f "$dir/$lib.a" ] || { echo "go-static-lib: no $dir/$lib.a (install ${lib//_/-}-dev)" >&2; exit 1; }
  cp "$dir/$lib.a" "$out/lib/"
done
# Without Requires.private: a static Go link takes ngtcp2 from this prefix and GnuTLS from the
# system, and pkg-config then needs no ngtcp2 .pc files on the user's machine.
sed -i 's/^Requires.private:.*/Requires.private: gnutls/' "$out/lib/pkgconfig/flume.pc"
if [ -n "$tar" ]; then
  tar -C "$(dirname "$out")" -czf "$tar" "$(basename "$out")"
fi
echo "$out"
