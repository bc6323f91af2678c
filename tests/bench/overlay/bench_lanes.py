#!/usr/bin/env python3
"""Lanes under loss: how many streams a node link should spread subjects over.

Two flume-broker nodes in their own network namespaces (the TUN emulator: 5 ms one way, 10% loss
both ways on the a<->b link); at a, eight publishers each send their own subject (t.s0..t.s7)
every 5 ms; at b, one subscriber to t.>. Run once per --cluster-lanes value: with 1 lane a lost
packet holds back every subject behind it (head-of-line blocking across subjects); with 8 lanes
(the default) a subject waits only for its own lane's losses; 64 lanes approximate one stream per
forwarded subject. Prints per-run latency percentiles over all subjects and the median of the
per-subject p99s. A benchmark (numbers, not a pass/fail test); needs root like tests/netem.

  bench_lanes.py --broker build/dev-release/broker/flume-broker --flume build/dev-release/tools/flume
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "netem"))
sys.dont_write_bytecode = True

import netem  # noqa: E402
import test_cluster as tc  # noqa: E402

SUBJECTS = [f"t.s{i}" for i in range(8)]


def run(args, lanes: int) -> dict:
    work = tempfile.mkdtemp(prefix="flume-bench-lanes-")
    try:
        with netem.Net.up(name=f"bl{os.getpid()}", hosts=["a", "b"], emulator=args.emulator,
                          mode="tun", delay="5ms", loss=f"{args.loss}%", seed=args.seed,
                          lifetime_s=300) as net:
            cluster = tc.Cluster(net, work, args.broker, args.flume)
            try:
                cluster.start_mesh(["a", "b"], extra=["--cluster-lanes", str(lanes)])
                cluster.wait_linked({"a": 1, "b": 1}, 30)
                sub = tc.Sub(cluster.nodes["b"], "t.>")
                for subject in SUBJECTS:
                    cluster.warm_up("a", subject, [sub], timeout_s=30)
                pubs = [tc.PacedPublisher(cluster, "a", s, args.count, 0.005, [sub])
                        for s in SUBJECTS]
                for p in pubs:
                    p.finish()
                tc.wait_received([(sub, s, args.count) for s in SUBJECTS], 60)
                per_subject = [tc.check_complete(sub, s, p.name, args.count)
                               for s, p in zip(SUBJECTS, pubs)]
            finally:
                cluster.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    every = [us for lat in per_subject for us in lat]
    return {"lanes": lanes, "p50": tc.percentile(every, 50), "p90": tc.percentile(every, 90),
            "p99": tc.percentile(every, 99), "max": max(every),
            "median_subject_p99": statistics.median(tc.percentile(lat, 99) for lat in per_subject)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--broker", required=True)
    ap.add_argument("--flume", required=True)
    ap.add_argument("--emulator", help="flume-netem (default $FLUME_NETEM_BIN or build/*)")
    ap.add_argument("--lanes", default="1,8,64", help="comma-separated --cluster-lanes values")
    ap.add_argument("--count", type=int, default=400, help="messages per subject (5 ms apart)")
    ap.add_argument("--loss", type=float, default=10.0, help="percent, both ways on a<->b")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    try:
        netem.check_environment("tun")
    except netem.Unavailable as e:
        print(f"skipped: {e}")
        return 77
    rows = [run(args, int(n)) for n in args.lanes.split(",")]
    print(f"8 subjects x {args.count} messages, 5 ms apart each; a<->b 5 ms one way, "
          f"{args.loss:g}% loss both ways")
    print(f"{'lanes':>5} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'median per-subject p99 ms':>26}")
    for r in rows:
        print(f"{r['lanes']:>5} {r['p50'] / 1000:8.2f} {r['p90'] / 1000:8.2f} "
              f"{r['p99'] / 1000:8.2f} {r['max'] / 1000:8.2f} "
              f"{r['median_subject_p99'] / 1000:26.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
