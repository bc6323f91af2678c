#!/usr/bin/env bash
# Builds the `dev-release` preset (Release with every target) and runs the micro-benchmarks.
# Numbers go to docs/benchmarks.md.
# Extra arguments go to every benchmark binary, e.g. --benchmark_filter=Match
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-deps.sh test
cmake --preset dev-release >/dev/null
cmake --build --preset dev-release -j"$(nproc)"
for bench in build/dev-release/tests/bench/flume_bench_*; do
  echo "== $bench"
  "$bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true "$@"
done
