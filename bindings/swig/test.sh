#!/usr/bin/env bash
# The Java binding's tests: what scripts/test.sh runs after the dev-release preset (whose build it
# reuses), and what a developer runs alone.
#
#   bindings/swig/test.sh [BUILD_DIR]   default build/dev-release (configured and built here if
#                                       missing: libflume_java and flume-broker only, nice, 2 jobs)
#
# 1. CMake builds libflume_java.so (SWIG over flume_facade, libflume.a linked in) and the
#    generated io.flume.internal sources into BUILD_DIR/bindings/swig;
# 2. Maven (java/pom.xml; output in BUILD_DIR/bindings/swig/maven) compiles, runs the JUnit 5
#    suite against embedded brokers and BUILD_DIR's flume-broker (required: no test skips), and
#    packs the jar with the native library inside;
# 3. the jar alone, from an empty directory with no library path: `java -jar` loads its native
#    library from the jar and prints the version; then its classes without the library, which
#    load it from java.library.path or the flume.library.path property, and fail without either.
# Maven fetches its plugins and JUnit from Maven Central the first time (every version pinned), and
# works from ~/.m2 without network after that.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build/dev-release}"
[[ "$build" = /* ]] || build="$PWD/$build"
started=$SECONDS
step() { echo "== java: $* ($((SECONDS - started)) s in)"; }

for tool in swig java mvn; do
  command -v "$tool" >/dev/null || { echo "java: $tool is missing (scripts/setup-deps.sh test)" >&2; exit 1; }
done
if [ ! -f "$build/CMakeCache.txt" ]; then
  [ "$build" = "$root/build/dev-release" ] || { echo "java: $build is not a CMake build" >&2; exit 1; }
  (cd "$root" && cmake --preset dev-release >/dev/null)
fi
if ! grep -Eq '^FLUME_BUILD_JAVA:[A-Z]+=(ON|AUTO)$' "$build/CMakeCache.txt" || [ ! -d "$build/bindings/swig" ]; then
  echo "java: $build does not build the Java binding (FLUME_BUILD_JAVA=ON, or AUTO with SWIG and a JDK, no sanitizers)" >&2
  exit 1
fi

step "cmake: libflume_java and flume-broker"
nice cmake --build "$build" -j2 --target flume_java flume-broker >/dev/null

step "mvn package: the JUnit suite and the jar"
out="$build/bindings/swig"
export FLUME_JAVA_REQUIRE_BROKER=1
version=$(tr -d '[:space:]' <"$root/VERSION")
mvn -B -q --no-transfer-progress -Dstyle.color=never -f "$root/bindings/swig/java/pom.xml" package \
  -Drevision="$version" -Dflume.build.dir="$out" -Dflume.broker.binary="$build/broker/flume-broker"
jar="$out/maven/flume-$version.jar"
[ -f "$jar" ] || { echo "java: no jar at $jar" >&2; exit 1; }
# Sums an attribute of the suites' <testsuite> elements.
count() { grep -ho "<testsuite [^>]* $1=\"[0-9]*\"" "$out"/maven/surefire-reports/TEST-*.xml |
  sed -E "s/.* $1=\"([0-9]+)\"/\1/" | awk '{ n += $1 } END { print n + 0 }'; }
ran=$(count tests)
skipped=$(count skipped)
echo "java: $ran tests, $skipped skipped"
[ "$skipped" -eq 0 ] || { echo "java: tests were skipped" >&2; exit 1; }

step "the jar alone: native library from the jar"
work="$(mktemp -d /tmp/flume-java-test.XXXXXX)"
trap 'rm -rf "$work"' EXIT
said=$(cd "$work" && env -u LD_LIBRARY_PATH java -jar "$jar")
echo "java: $said"
[ "$said" = "flume-java $version (linux-$(uname -m))" ] || { echo "java: unexpected: $said" >&2; exit 1; }
step "without the jar's library: java.library.path, then flume.library.path"
mkdir "$work/classes"
(cd "$work/classes" && jar xf "$jar" && rm -r io/flume/native)
said=$(cd "$work" && java -Djava.library.path="$out" -cp classes io.flume.Flume)
[ "$said" = "flume-java $version (linux-$(uname -m))" ] || { echo "java: java.library.path: $said" >&2; exit 1; }
said=$(cd "$work" && java -Dflume.library.path="$out/libflume_java.so" -cp classes io.flume.Flume)
[ "$said" = "flume-java $version (linux-$(uname -m))" ] || { echo "java: flume.library.path: $said" >&2; exit 1; }
if (cd "$work" && java -cp classes io.flume.Flume >/dev/null 2>&1); then
  echo "java: loaded a native library that should not be found" >&2
  exit 1
fi
echo "java: loads from java.library.path and flume.library.path, and fails without either"
step "done"
