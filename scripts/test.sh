#!/usr/bin/env bash
# Everything CI runs, in order; set-up included (installs missing system packages first):
#   1. the `ci` preset (clang, ASan + UBSan, libFuzzer) and every test: style, unit, engine, QUIC,
#      end-to-end, C ABI, Python, fuzzers (about 30 s each), benchmark smoke runs;
#   2. the `tsan` preset (clang, ThreadSanitizer): the threaded suites again (runtime, event loop,
#      C ABI clients and broker, end-to-end, CLI), where data races between the caller's threads
#      and the loop thread would show;
#   3. the `dev-release` preset: what users build, with the default compiler (GCC) and warnings
#      fatal, so both compilers stay warning-clean; its unit, engine, QUIC, end-to-end and CLI
#      tests run again on the GCC-optimised code (about 25 s);
#   4. the README's first command as a new user runs it (tests/tools/quickstart_test.sh);
#   5. the Debian package: built, installed, used and removed (needs root; skipped otherwise);
#   6. the Go binding with -race, in both link modes, on the dev-release build's libflume
#      (bindings/go/test.sh).
#   7. the Node.js binding (scripts/test-node.sh): built from source by cmake-js as npm install
#      does, installed from the checkout and from a packed tarball, and its node --test suite
#      against embedded brokers and the dev-release flume-broker.
#   8. the Java binding (bindings/swig/test.sh): SWIG's JNI library from the dev-release build,
#      Maven's JUnit 5 suite against embedded brokers and its flume-broker, the jar run alone.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
step() { echo "== test.sh: $* ($((SECONDS - started)) s in)"; }

./scripts/setup-deps.sh test
jobs=$(nproc)

step "ci preset: build and every test"
cmake --preset ci >/dev/null
cmake --build --preset ci -j"$jobs"
ctest --preset ci -j"$jobs"

step "tsan preset: the threaded suites under ThreadSanitizer"
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j"$jobs"
ctest --preset tsan -j"$jobs"

step "dev-release preset: the user's build with the default compiler, warnings fatal"
cmake --preset dev-release >/dev/null
cmake --build --preset dev-release -j"$jobs"
# The style check, Python, the network emulator and the loss benchmark ran under `ci` already.
ctest --preset dev-release -j"$jobs" -E '^(style|python|bench_loss|netem)\.'

step "the README's quick start: scripts/run.sh in a fresh HOME"
tests/tools/quickstart_test.sh

step "the Debian package: build, lintian, install, use, purge"
scripts/package.sh --lintian
tests/packaging/package_test.sh "build/packages/flume_$(tr -d '[:space:]' <VERSION)_$(dpkg --print-architecture).deb"

step "the Go binding: go test -race, dynamic and -tags flume_static"
bindings/go/test.sh build/dev-release

step "the Node.js binding: npm ci, cmake-js build, installs, node --test"
scripts/test-node.sh "$PWD/build/dev-release/broker/flume-broker"

step "the Java binding: SWIG, mvn package (JUnit 5), the jar alone"
bindings/swig/test.sh build/dev-release

step "done"
