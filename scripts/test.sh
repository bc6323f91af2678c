#!/usr/bin/env bash
# Builds everything with the `ci` preset (clang, ASan+UBSan, fuzzers) and runs every test:
# the style check, unit tests, C ABI tests, fuzzers (about 30 s each) and benchmark smoke runs.
# Set-up included: installs missing system packages first.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup-deps.sh
jobs=$(nproc)
cmake --preset ci >/dev/null
cmake --build --preset ci -j"$jobs"
ctest --preset ci -j"$jobs"
