#!/bin/sh
# Installs the build into a scratch prefix and builds a C program against it with pkg-config.
# Usage: pkg_config_consumer_test.sh BUILD_DIR CC EXTRA_CFLAGS SOURCE VERSION [LINK_DRIVER]
# LINK_DRIVER (default CC) links the program: a sanitized libflume needs the C++ sanitizer
# runtime, which only the C++ driver links in; unsanitized builds link with the C compiler.
set -eu
build_dir=$1 cc=$2 extra=$3 source=$4 version=$5 link=${6:-$2}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT

cmake --install "$build_dir" --prefix "$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib64/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig"
got=$(pkg-config --modversion flume)
[ "$got" = "$version" ] || { echo "pkg-config says version $got, expected $version" >&2; exit 1; }

# Shared: the run must find libflume.so in the prefix, not anywhere else.
# shellcheck disable=SC2086  # the flags are word lists
$cc $extra $(pkg-config --cflags flume) -c -o "$prefix/consumer.o" "$source"
# shellcheck disable=SC2086
$link $extra -o "$prefix/consumer-shared" "$prefix/consumer.o" $(pkg-config --libs flume)
libdir=$(pkg-config --variable=libdir flume)
LD_LIBRARY_PATH="$libdir" "$prefix/consumer-shared"

# Static libflume.a, its dependencies shared (Debian ships no static GnuTLS): the modules in
# Requires.private plus libs_private.
deps=$(pkg-config --print-requires-private flume | awk '{print $1}' | tr '\n' ' ')
# shellcheck disable=SC2086
$link $extra -o "$prefix/consumer-static" "$prefix/consumer.o" "$libdir/libflume.a" \
  $(pkg-config --libs $deps) $(pkg-config --variable=libs_private flume)
if ldd "$prefix/consumer-static" | grep -q libflume; then
  echo "static consumer still links libflume.so" >&2; exit 1
fi
"$prefix/consumer-static"
