#!/usr/bin/env bash
# Builds the `release` preset and runs the micro-benchmarks. Numbers go to docs/benchmarks.md.
# Extra arguments go to every benchmark binary, e.g. --benchmark_filter=Match
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"
for bench in build/release/tests/bench/flume_bench_*; do
  echo "== $bench"
  "$bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true "$@"
done
