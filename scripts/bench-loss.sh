#!/usr/bin/env bash
# Loss benchmark: Flume vs NATS vs Redis (and TCP with rto_min 5ms) through the network emulator.
# Builds what it needs in build/bench (Release), then runs tests/bench/loss/bench_loss.py as root.
#   scripts/bench-loss.sh --short            the smoke test (about 2 minutes)
#   scripts/bench-loss.sh --full             every scenario, condition and repeat (about 1.5 hours)
#   scripts/bench-loss.sh --scenarios a --loss 10 --delays 0 --rates 1000   a subset
# Results (raw-*.jsonl with every attempt, summary.csv, report.md, PNG plots) go to
# build/bench-loss-results unless --out DIR is given. See docs/benchmarks.md.
#
# --full: scenario (a) alone is about 3.7 hours of runs back to back (every rate runs at least 20 s
# or 600 messages). Its runs use little CPU (at most 1000 msg/s of 128 B), so --full runs (a) as ten
# harness processes at once, each in its own pair of namespaces (groups of rates and loss rates, for
# no delay and 10 ms RTT); every run's timer lag and CPU steal are still checked and disturbed runs
# repeated.
# Scenarios (b), (c) and (d) load the CPU and run afterwards, alone. Then one report covers all.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup-deps.sh test
cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DFLUME_BUILD_TESTS=ON \
  -DFLUME_BUILD_BENCHMARKS=ON -DFLUME_BUILD_FUZZERS=OFF >/dev/null
cmake --build build/bench --target flume-bench-pubsub-load flume-broker flume-netem
# Debian's python3-matplotlib is for /usr/bin/python3; bench_loss.py also finds it from others.
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
harness=("$py" tests/bench/loss/bench_loss.py
  --load build/bench/tests/bench/loss/flume-bench-pubsub-load
  --broker build/bench/broker/flume-broker
  --emulator build/bench/tests/netem/flume-netem
  --nats-server build/tools/bin/nats-server)

if [ "${1:-}" != "--full" ]; then
  exec "${harness[@]}" "$@"
fi
shift
out=build/bench-loss-results
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[i]}" = "--out" ] && out="${args[i + 1]}"
done
mkdir -p "$out"
echo "bench-loss --full: results in $out; logs in $out/log-*.txt"
pids=()
# Ten groups of about 25 minutes each: (rate, loss list) for both delays.
for delay in 0 5; do
  for group in 10:0,1 10:5 10:10 100:0,1,5,10 1000:0,1,5,10; do
    rate=${group%%:*} loss=${group#*:}
    "${harness[@]}" --scenarios a --loss "$loss" --delays "$delay" --rates "$rate" "${args[@]}" \
      --out "$out" >"$out/log-a-d$delay-r$rate-l$loss.txt" 2>&1 &
    pids+=($!)
    sleep 5  # stagger namespace set-up
  done
done
status=0
for pid in "${pids[@]}"; do
  wait "$pid" || status=1
done
"${harness[@]}" --scenarios b,c,d "${args[@]}" --out "$out" 2>&1 | tee "$out/log-bcd.txt" || status=1
"${harness[@]}" --report-only "${args[@]}" --out "$out" >/dev/null || status=1
echo "bench-loss --full: report $out/report.md (exit $status)"
exit $status
