#!/usr/bin/env bash
# The Go binding's tests, in both link modes, against a libflume built by this tree: what
# scripts/test.sh runs after the dev-release preset (whose build it reuses), and what a developer
# runs alone. Independent of any libflume installed on the machine: the libraries, headers and
# flume.pc come from a temporary prefix, which pkg-config searches first.
#
#   bindings/go/test.sh [BUILD_DIR]     default build/dev-release (built here if missing:
#                                       libflume and flume-broker only, nice, 2 jobs)
#
# 1. dynamic (the default link mode): go vet, then go test -race with the embedded broker and the
#    flume-broker binary of BUILD_DIR; libflume.so loaded from the prefix (checked);
#    then again without -race under GOEXPERIMENT=cgocheck2 (cgo's complete pointer checks);
# 2. -tags flume_static: the prefix of scripts/go-static-lib.sh; go vet, go test -race again.
# Go modules (goleak) come from the module proxy through go.mod/go.sum.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build/dev-release}"
[[ "$build" = /* ]] || build="$PWD/$build"
started=$SECONDS
step() { echo "== go: $* ($((SECONDS - started)) s in)"; }

command -v go >/dev/null || { echo "go: no Go toolchain (scripts/setup-deps.sh test installs one)" >&2; exit 1; }
if [ ! -f "$build/CMakeCache.txt" ]; then
  [ "$build" = "$root/build/dev-release" ] || { echo "go: $build is not a CMake build" >&2; exit 1; }
  (cd "$root" && cmake --preset dev-release >/dev/null)
fi
nice cmake --build "$build" -j2 --target flume flume_static flume-broker >/dev/null

# The prefixes live in the build directory; the scratch (certificates) in a temporary one.
prefix="$build/go-binding"
rm -rf "$prefix"
cmake -DCMAKE_INSTALL_PREFIX="$prefix/dynamic" -P "$build/capi/cmake_install.cmake" >/dev/null
"$root/scripts/go-static-lib.sh" --build "$build" --out "$prefix/static" >/dev/null
work="$(mktemp -d /tmp/flume-go-test.XXXXXX)"
trap 'rm -rf "$work"' EXIT

cd "$root/bindings/go"
export FLUME_BROKER="$build/broker/flume-broker" FLUME_GO_REQUIRE_BROKER=1 GOFLAGS="${GOFLAGS:--mod=readonly}"
# The tests' brokers keep their certificates in temporary directories; this keeps anything else
# that would default to the user's data directory out of it too.
export FLUME_DATA_DIR="$work/data"

# Go's build cache does not key on pkg-config's output (nor PKG_CONFIG_PATH): the prefix goes
# into CGO_CFLAGS, which it does key on, so a build against another prefix is never reused.
with_prefix() {
  local dir="$1"; shift
  PKG_CONFIG_PATH="$dir/lib/pkgconfig" CGO_CFLAGS="-O2 -g -I$dir/include" "$@"
}

step "dynamic link (pkg-config flume, libflume.so)"
with_prefix "$prefix/dynamic" go vet ./...
LD_LIBRARY_PATH="$prefix/dynamic/lib" FLUME_GO_EXPECT_LIBDIR="$prefix/dynamic/lib" \
  with_prefix "$prefix/dynamic" nice go test -race -count=1 -timeout 300s ./...

# cgo's full pointer checks (every pointer store into Go memory, not only call arguments).
step "dynamic link again under GOEXPERIMENT=cgocheck2"
LD_LIBRARY_PATH="$prefix/dynamic/lib" GOEXPERIMENT=cgocheck2 \
  with_prefix "$prefix/dynamic" nice go test -count=1 -timeout 300s ./...

step "static link (-tags flume_static, libflume.a + ngtcp2, GnuTLS shared)"
with_prefix "$prefix/static" go vet -tags flume_static ./...
with_prefix "$prefix/static" nice go test -race -count=1 -timeout 300s -tags flume_static ./...

step "done"
