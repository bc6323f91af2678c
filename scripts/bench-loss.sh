#!/usr/bin/env bash
# Loss benchmark: Flume vs NATS vs Redis (and TCP with rto_min 5ms) through the network emulator.
# Builds what it needs in build/bench (Release), then runs tests/bench/loss/bench_loss.py as root.
#   scripts/bench-loss.sh --short            the smoke test (about 1.5 minutes)
#   scripts/bench-loss.sh --full             every scenario, condition and repeat (hours)
#   scripts/bench-loss.sh --scenarios a --loss 10 --delays 0 --rates 1000   a subset
# Results (raw.jsonl with every attempt, summary.csv, report.md, PNG plots) go to
# build/bench-loss-results unless --out DIR is given. See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup-deps.sh
cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DFLUME_BUILD_FUZZERS=OFF >/dev/null
cmake --build build/bench --target flume-bench-pubsub-load flume-broker flume-netem
# Debian's python3-matplotlib is for /usr/bin/python3; bench_loss.py also finds it from others.
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
exec "$py" tests/bench/loss/bench_loss.py \
  --load build/bench/tests/bench/loss/flume-bench-pubsub-load \
  --broker build/bench/broker/flume-broker \
  --emulator build/bench/tests/netem/flume-netem \
  --nats-server build/tools/bin/nats-server "$@"
