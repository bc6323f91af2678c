#!/usr/bin/env python3
"""An emulated Internet: what routing by measured latency buys (docs/benchmarks.md, "Overlay II:
routing by measured latency").

N flume-broker nodes (default 20), one per city below, each in its own network namespace (the
TUN emulator, tests/netem), seeded as a full mesh (--cluster-max-links N-1). The one-way delay
of each pair of cities, both directions alike, is

    great-circle distance / (2/3 c)  x  a detour factor drawn per pair (seeded)

Light in fibre travels at about 2/3 c, and fibre does not follow great circles; IP routes add
more (policy, peering, hot-potato routing). The detour factor is 1 + a log-normal draw with
median 1 (sigma 0.5), so its median is 2.0. Why: Singla et al., "The Internet at the Speed of
Light" (HotNets 2014) measured the minimum ping time between PlanetLab nodes and Web servers at
3.1x the c-latency in the median, which is 3.1 x 2/3 = 2.07x the latency at fibre speed along
the great circle. The spread (sigma) is this benchmark's choice: the paper gives the median, and a
wide spread is what makes some direct paths slower than a relay, as measured on the real
Internet: Savage et al., "The End-to-End Effects of Internet Path Selection" (SIGCOMM 1999) found
an alternate path with significantly better quality (RTT, loss or bandwidth) for 30-80% of the
pairs of hosts in their data sets; Andersen et al., "Resilient Overlay Networks" (SOSP 2001)
routed around path outages and degraded paths through one intermediate overlay node.

Steps:
  1. all nodes up and linked (N-1 links each); routes settle (every node's next hops unchanged
     for --settle-quiet seconds, asked with `flume overlay --json`);
  2. overhead: --quiet seconds with no messages; the emulator's byte counters (every IP packet
     between the hosts: probes, adverts, QUIC acknowledgements and keep-alives) per node;
  3. every node runs `flume sub 'p.>'` and publishes on p.<node> at --rate messages/s for
     --seconds, each message "<node> <seq> <sent ns>": every ordered pair gets its latency
     samples at once (N x (N-1) pairs);
  4. per pair: the p50 of the measured publish->receive latency against the direct one-way delay
     of the matrix, the best path the matrix allows (Dijkstra) and the path the overlay chose
     (following the nodes' next hops).

Printed: the share of pairs the overlay improves (measured p50 below the direct delay) and by
how much (median, p99), the share of pairs whose best path is a relay, the pairs that lose, and
the overhead in bytes/s per node. --csv FILE writes one row per pair (for plot_routes.py),
--json FILE the summary.

  bench_internet.py --broker build/dev-release/broker/flume-broker \\
      --flume build/dev-release/tools/flume [--nodes 20] [--seconds 20] [--csv pairs.csv]

--smoke (ctest bench_internet.smoke): 5 nodes, short; checks that every pair got messages and
every number is finite, not how big they are. Exit 77 without root, namespaces or TUN.
"""

from __future__ import annotations

import argparse
import csv
import heapq
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from typing import Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "netem"))
sys.dont_write_bytecode = True

import netem  # noqa: E402
import overlay_state  # noqa: E402
import test_cluster as tc  # noqa: E402

# (host name, city, latitude, longitude): 20 cities on six continents.
CITIES = [
    ("nyc", "New York", 40.71, -74.01), ("lon", "London", 51.51, -0.13),
    ("fra", "Frankfurt", 50.11, 8.68), ("sin", "Singapore", 1.35, 103.82),
    ("sao", "Sao Paulo", -23.55, -46.63), ("tyo", "Tokyo", 35.68, 139.69),
    ("sfo", "San Francisco", 37.77, -122.42), ("syd", "Sydney", -33.87, 151.21),
    ("bom", "Mumbai", 19.08, 72.88), ("jnb", "Johannesburg", -26.20, 28.05),
    ("chi", "Chicago", 41.88, -87.63), ("par", "Paris", 48.86, 2.35),
    ("sto", "Stockholm", 59.33, 18.07), ("mad", "Madrid", 40.42, -3.70),
    ("ist", "Istanbul", 41.01, 28.98), ("dxb", "Dubai", 25.20, 55.27),
    ("lag", "Lagos", 6.52, 3.38), ("mex", "Mexico City", 19.43, -99.13),
    ("bue", "Buenos Aires", -34.60, -58.38), ("hkg", "Hong Kong", 22.32, 114.17),
]
EARTH_RADIUS_KM = 6371.0
FIBRE_KM_PER_MS = 299_792.458 * 2 / 3 / 1000  # 2/3 c
DETOUR_SIGMA = 0.5


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def great_circle_km(a: Tuple[float, float], b: Tuple[float, float]) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (math.sin((la2 - la1) / 2) ** 2
         + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def latency_matrix(hosts: List[str], seed: int) -> Dict[Tuple[str, str], float]:
    """One-way delay in ms per ordered pair (both directions of a pair alike: the overlay
    measures round trips, and halves them)."""
    where = {h: (lat, lon) for h, _, lat, lon in CITIES}
    rng = random.Random(seed)
    out = {}
    for i, a in enumerate(hosts):
        for b in hosts[i + 1:]:
            factor = 1.0 + rng.lognormvariate(0.0, DETOUR_SIGMA)
            ms = great_circle_km(where[a], where[b]) / FIBRE_KM_PER_MS * factor
            out[(a, b)] = out[(b, a)] = round(ms, 1)
    return out


def shortest(hosts: List[str], m: Dict[Tuple[str, str], float], src: str) -> Dict[str, float]:
    dist = {h: math.inf for h in hosts}
    dist[src] = 0.0
    heap = [(0.0, src)]
    while heap:
        d, u = heapq.heappop(heap)
        if d > dist[u]:
            continue
        for v in hosts:
            if v != u and d + m[(u, v)] < dist[v]:
                dist[v] = d + m[(u, v)]
                heapq.heappush(heap, (dist[v], v))
    return dist


def chosen_path(hops: Dict[str, Dict[str, Optional[str]]], src: str, dst: str) -> List[str]:
    """src, the next hops the nodes chose, ..., dst (stops at a loop or a missing route)."""
    path = [src]
    while path[-1] != dst and len(path) <= len(hops):
        nh = hops.get(path[-1], {}).get(dst)
        if nh is None or nh in path:
            break
        path.append(nh)
    return path


def all_next_hops(cluster, hosts) -> Dict[str, Dict[str, Optional[str]]]:
    return {h: overlay_state.next_hops(overlay_state.state(cluster, h, timeout_s=20))
            for h in hosts}


def settle(cluster, hosts, quiet_s: float, timeout_s: float) -> Tuple[dict, float]:
    """Until every node's next hops stayed the same for quiet_s (bounded by timeout_s)."""
    t0 = time.monotonic()
    last, since = None, time.monotonic()
    while True:
        hops = all_next_hops(cluster, hosts)
        if hops != last:
            last, since = hops, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return hops, time.monotonic() - t0
        if time.monotonic() - t0 > timeout_s:
            log(f"routes still changing after {timeout_s:.0f} s; measuring anyway")
            return hops, time.monotonic() - t0
        time.sleep(1.0)


def bytes_sent(net) -> Dict[str, int]:
    """Per host: IP bytes it sent to the other hosts (the emulator's counters)."""
    out: Dict[str, int] = {}
    for r in net.stats():
        out[r["src"]] = out.get(r["src"], 0) + int(r.get("rx_bytes", 0))
    return out


def pct(values: List[float], p: float) -> float:
    return tc.percentile(values, p) if values else float("nan")


def run(args) -> dict:
    hosts = [h for h, *_ in CITIES[:args.nodes]]
    matrix = latency_matrix(hosts, args.seed)
    links = {(s, d): {"delay": f"{v}ms"} for (s, d), v in matrix.items()}
    work = tempfile.mkdtemp(prefix="flume-bench-internet-")
    result: dict = {"nodes": len(hosts), "seed": args.seed}
    try:
        with netem.Net.up(name=f"bi{os.getpid()}", hosts=hosts, links=links, mode="tun",
                          emulator=args.emulator, seed=args.seed, lifetime_s=1800) as net:
            cluster = tc.Cluster(net, work, args.broker, args.flume)
            try:
                t0 = time.monotonic()
                cluster.start_mesh(hosts, extra=["--cluster-max-links", str(len(hosts) - 1)])
                cluster.wait_linked({h: len(hosts) - 1 for h in hosts}, 60 + 3 * len(hosts))
                log(f"{len(hosts)} nodes linked in {time.monotonic() - t0:.1f} s")
                hops, took = settle(cluster, hosts, args.settle_quiet, args.settle_timeout)
                log(f"routes settled in {took:.1f} s")

                before, t_before = bytes_sent(net), time.monotonic()
                time.sleep(args.quiet)
                after, t_after = bytes_sent(net), time.monotonic()
                per_node = [(after[h] - before.get(h, 0)) / (t_after - t_before) for h in hosts]
                result["overhead_bytes_per_s_per_node"] = statistics.mean(per_node)
                result["overhead_bytes_per_s_max_node"] = max(per_node)
                log(f"overhead: {statistics.mean(per_node):.0f} B/s per node sent (max "
                    f"{max(per_node):.0f}) over {t_after - t_before:.1f} s with no messages")

                subs = {h: tc.Sub(cluster.nodes[h], "p.>", timeout_s=600) for h in hosts}
                count = max(1, int(args.rate * args.seconds))
                pubs = {}
                for h in hosts:
                    others = [subs[x] for x in hosts if x != h]
                    pubs[h] = tc.PacedPublisher(cluster, h, f"p.{h}", count, 1.0 / args.rate,
                                                others)
                for p in pubs.values():
                    p.finish(args.seconds + 120)
                tc.wait_received([(subs[d], f"p.{s}", count) for s in hosts for d in hosts
                                  if s != d], 30)
                hops_after = all_next_hops(cluster, hosts)
            finally:
                cluster.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rows = []
    best = {s: shortest(hosts, matrix, s) for s in hosts}
    for s in hosts:
        for d in hosts:
            if s == d:
                continue
            name = pubs[s].name
            lat = [(t - int(p.split()[2])) / 1e6 for t, p in subs[d].messages(f"p.{s}")
                   if p != "warm" and p.split()[0] == name]
            path = chosen_path(hops_after, s, d)
            path_ms = (sum(matrix[(x, y)] for x, y in zip(path, path[1:]))
                       if path[-1] == d else math.nan)
            rows.append({"src": s, "dst": d, "direct_ms": matrix[(s, d)],
                         "best_ms": round(best[s][d], 1), "path": ">".join(path),
                         "path_ms": round(path_ms, 1), "received": len(lat), "sent": count,
                         "p50_ms": round(pct(lat, 50), 2), "p99_ms": round(pct(lat, 99), 2)})
    result["pairs"] = rows
    return result


def summarise(result: dict) -> dict:
    rows = result["pairs"]
    n = len(rows)
    improved = [r["direct_ms"] - r["p50_ms"] for r in rows if r["p50_ms"] < r["direct_ms"]]
    worse = [r["p50_ms"] - r["direct_ms"] for r in rows if r["p50_ms"] >= r["direct_ms"]]
    relay_best = [r for r in rows if r["best_ms"] < r["direct_ms"] - 1e-9]
    relayed = [r for r in rows if r["path"].count(">") > 1]
    # Worth a switch under the routes' hysteresis (docs/overlay.md: cheaper by max(10%, 2 ms)).
    clear = [r for r in relay_best
             if r["direct_ms"] - r["best_ms"] > max(0.1 * r["direct_ms"], 2.0)]
    s = {
        "pairs": n,
        "improved_share": len(improved) / n,
        "improved_median_ms": pct(improved, 50), "improved_p99_ms": pct(improved, 99),
        "improved_max_ms": max(improved) if improved else math.nan,
        "relay_best_share": len(relay_best) / n,
        "relay_best_gain_median_ms": pct([r["direct_ms"] - r["best_ms"] for r in relay_best], 50),
        "relay_clearly_best_share": len(clear) / n,
        "relayed_share": len(relayed) / n,
        "relayed_path_gain_median_ms": pct([r["direct_ms"] - r["path_ms"] for r in relayed], 50),
        "relayed_path_gain_p99_ms": pct([r["direct_ms"] - r["path_ms"] for r in relayed], 99),
        "not_improved_excess_median_ms": pct(worse, 50),
        "not_improved_excess_p99_ms": pct(worse, 99),
        "messages_lost": sum(r["sent"] - r["received"] for r in rows),
        "overhead_bytes_per_s_per_node": result["overhead_bytes_per_s_per_node"],
    }
    return s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--broker", required=True)
    ap.add_argument("--flume", required=True)
    ap.add_argument("--emulator", help="flume-netem (default $FLUME_NETEM_BIN or build/*)")
    ap.add_argument("--nodes", type=int, default=20, help=f"2..{len(CITIES)} (the first cities)")
    ap.add_argument("--seconds", type=float, default=20.0, help="publishing time")
    ap.add_argument("--rate", type=float, default=5.0, help="messages/s per node")
    ap.add_argument("--quiet", type=float, default=10.0, help="overhead window, s")
    ap.add_argument("--settle-quiet", type=float, default=6.0)
    ap.add_argument("--settle-timeout", type=float, default=90.0)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--csv", help="one row per ordered pair")
    ap.add_argument("--json", help="the summary and every pair")
    ap.add_argument("--smoke", action="store_true", help="5 nodes, short; checks it runs")
    args = ap.parse_args()
    if args.smoke:
        args.nodes, args.seconds, args.rate, args.quiet = 5, 3.0, 5.0, 2.0
        args.settle_quiet, args.settle_timeout = 2.0, 20.0
    if not 2 <= args.nodes <= len(CITIES):
        ap.error(f"--nodes: 2..{len(CITIES)}")
    try:
        netem.check_environment("tun")
    except netem.Unavailable as e:
        print(f"skipped: {e}")
        return 77
    result = run(args)
    s = summarise(result)
    rows = result["pairs"]
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    if args.json:
        with open(args.json, "w") as f:
            finite = {k: (v if not isinstance(v, float) or math.isfinite(v) else None)
                      for k, v in s.items()}
            json.dump({"summary": finite, **result}, f, indent=1)
    print(f"{result['nodes']} nodes, {s['pairs']} ordered pairs, seed {args.seed}, "
          f"{args.rate:g} msg/s per node for {args.seconds:g} s")
    print(f"  pairs whose best path in the matrix is a relay: {s['relay_best_share']:.1%} "
          f"(median gain {s['relay_best_gain_median_ms']:.1f} ms); by more than max(10%, 2 ms): "
          f"{s['relay_clearly_best_share']:.1%}")
    print(f"  pairs the overlay routes through a relay:       {s['relayed_share']:.1%} (their "
          f"path in the matrix: median {s['relayed_path_gain_median_ms']:.1f} ms, p99 "
          f"{s['relayed_path_gain_p99_ms']:.1f} ms below direct)")
    print(f"  pairs the overlay improves (p50 < direct):      {s['improved_share']:.1%}; by "
          f"median {s['improved_median_ms']:.1f} ms, p99 {s['improved_p99_ms']:.1f} ms, max "
          f"{s['improved_max_ms']:.1f} ms")
    print(f"  the others: p50 above direct by median {s['not_improved_excess_median_ms']:.2f} "
          f"ms, p99 {s['not_improved_excess_p99_ms']:.2f} ms")
    print(f"  messages lost: {s['messages_lost']}")
    print(f"  overhead with no messages: {s['overhead_bytes_per_s_per_node']:.0f} B/s per node "
          f"(IP bytes sent, all links)")
    if args.smoke:
        bad = [r for r in rows if r["received"] != r["sent"]]
        nums = [s["overhead_bytes_per_s_per_node"]] + [r["p50_ms"] for r in rows]
        if bad or not all(math.isfinite(x) for x in nums):
            print(f"smoke: FAIL ({len(bad)} pairs incomplete: {bad[:3]})")
            return 1
        print("smoke: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
