#!/usr/bin/env python3
"""Measures an emulated link with a UDP echo: RTT distribution, round-trip loss, reordering.

    probe.probe(net, "a", "b", count=400, interval_s=0.005) -> raw result
    probe.summary(result) -> numbers;  probe.check(net, "a", "b", summary) -> list of failures

Inside the namespaces it runs itself: `probe.py echo ...` in the destination host and
`probe.py client ...` in the source host (both bounded in packets and time).
"""

from __future__ import annotations

import json
import math
import os
import random
import select
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time
from typing import List, Optional

HEADER = struct.Struct("!IQ")  # sequence number, send time (CLOCK_MONOTONIC ns of the client)


def _echo(bind: str, port: int, duration_s: float, max_packets: int) -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((bind, port))
    print("ready", flush=True)
    deadline = time.monotonic() + duration_s
    n = 0
    while n < max_packets:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([s], [], [], left)
        if not r:
            continue
        data, peer = s.recvfrom(65536)
        s.sendto(data, peer)
        n += 1
    return 0


def _client(dst: str, port: int, count: int, interval_s: float, size: int, drain_s: float) -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((dst, port))
    pad = b"\0" * max(0, size - HEADER.size)
    rtts = {}
    dups = reordered = 0
    max_seq = -1
    start = time.monotonic_ns()
    sent = 0
    end = None
    while True:
        now = time.monotonic_ns()
        if sent < count and now >= start + int(sent * interval_s * 1e9):
            s.send(HEADER.pack(sent, now) + pad)
            sent += 1
            if sent == count:
                end = time.monotonic_ns() + int(drain_s * 1e9)
            continue
        due = end if sent == count else start + int(sent * interval_s * 1e9)
        if due is not None and now >= due and sent == count:
            break
        r, _, _ = select.select([s], [], [], max(0.0, (due - now) / 1e9))
        if not r:
            continue
        t = time.monotonic_ns()
        data = s.recv(65536)
        seq, t0 = HEADER.unpack_from(data)
        if seq in rtts:
            dups += 1
            continue
        if seq < max_seq:
            reordered += 1
        max_seq = max(max_seq, seq)
        rtts[seq] = (t - t0) / 1e6
    json.dump({"sent": sent, "received": len(rtts), "duplicates": dups, "reordered": reordered,
               "rtts_ms": [rtts[k] for k in sorted(rtts)]}, sys.stdout)
    return 0


def probe(net, src: str, dst: str, count: int = 400, interval_s: float = 0.005, size: int = 100,
          port: int = 7777, drain_s: Optional[float] = None) -> dict:
    """Echo count packets from src to dst and back. Returns the client's result plus the
    emulator's per-link counters for the probe (tun mode) or the nftables counters."""
    me = os.path.abspath(__file__)
    rtt_guess = (net.link(src, dst).delay_ns + net.link(dst, src).delay_ns) / 1e9
    drain_s = drain_s if drain_s is not None else max(0.5, 4 * rtt_guess + 0.2)
    duration = count * interval_s + drain_s + 10
    before = {(r["src"], r["dst"]): r for r in net.stats()}
    echo = net.popen(dst, [sys.executable, me, "echo", net.addr(dst), str(port), str(duration),
                           str(4 * count)], stdout=subprocess.PIPE, text=True)
    try:
        r, _, _ = select.select([echo.stdout], [], [], 10)
        if not r or echo.stdout.readline().strip() != "ready":
            raise RuntimeError("echo server did not start")
        p = net.run(src, [sys.executable, me, "client", net.addr(dst), str(port), str(count),
                          str(interval_s), str(size), str(drain_s)],
                    timeout=duration + 10, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"probe client failed: {p.stderr}")
        res = json.loads(p.stdout)
    finally:
        echo.send_signal(signal.SIGTERM)
        try:
            echo.wait(timeout=5)
        except subprocess.TimeoutExpired:
            echo.kill()
            echo.wait(timeout=5)
    after = {(r["src"], r["dst"]): r for r in net.stats()}
    res["links"] = {}
    for key in ((src, dst), (dst, src)):
        b, a = before.get(key, {}), after.get(key, {})
        c = {k: a.get(k, 0) - b.get(k, 0)
             for k in ("rx_packets", "lost", "blocked", "delivered", "late_ns_sum")}
        if "late_ns_max" in a:
            c["late_ns_max"] = a["late_ns_max"]  # a running maximum: since the run started
        res["links"][f"{key[0]}>{key[1]}"] = c
    res.update(src=src, dst=dst, mode=net.mode)
    return res


def _pct(xs: List[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    i = q * (len(xs) - 1)
    lo, hi = math.floor(i), math.ceil(i)
    return xs[lo] + (xs[hi] - xs[lo]) * (i - lo)


def summary(res: dict) -> dict:
    r = res["rtts_ms"]
    out = {
        "mode": res.get("mode"), "sent": res["sent"], "received": res["received"],
        "rtt_loss": 1 - res["received"] / res["sent"] if res["sent"] else float("nan"),
        "reordered": res["reordered"], "duplicates": res["duplicates"],
        "rtt_ms": {
            "min": min(r) if r else None, "p10": _pct(r, 0.1), "median": _pct(r, 0.5),
            "p90": _pct(r, 0.9), "p99": _pct(r, 0.99), "max": max(r) if r else None,
            "mean": statistics.fmean(r) if r else None,
            "stdev": statistics.pstdev(r) if len(r) > 1 else None,
        },
        "links": {},
    }
    for k, c in res.get("links", {}).items():
        n = c.get("rx_packets", 0)
        row = dict(c, loss=(c.get("lost", 0) / n) if n else None)
        if c.get("delivered") and "late_ns_max" in c:
            row["late_us_mean"] = c["late_ns_sum"] / c["delivered"] / 1e3
            row["late_us_max"] = c.pop("late_ns_max") / 1e3
            row.pop("late_ns_max", None)
        row.pop("late_ns_sum", None)
        out["links"][k] = row
    return out


def check(net, src: str, dst: str, s: dict, sigmas: float = 4.0, median_tol_ms: float = 1.0,
          jitter: bool = True) -> List[str]:
    """Compares a summary with the configured links. Loss within `sigmas` binomial standard
    deviations; RTT median within median_tol_ms of the two configured one-way delays, none below
    delay - jitter; with jitter, the p10..p90 spread matches two uniform +-jitter draws."""
    fails = []
    fwd, back = net.link(src, dst), net.link(dst, src)
    if fwd.block or back.block:
        if s["received"]:
            fails.append(f"link blocked, yet {s['received']} echoes came back")
        return fails
    p_ok = (1 - fwd.loss) * (1 - back.loss)
    n = s["sent"]
    sd = math.sqrt(p_ok * (1 - p_ok) / n) if n else 0
    tol = max(sigmas * sd, 1.5 / n if n else 0)
    if abs((1 - s["rtt_loss"]) - p_ok) > tol:
        fails.append(f"round-trip loss {s['rtt_loss']:.3f}, expected {1 - p_ok:.3f} +- {tol:.3f}")
    for key, spec in ((f"{src}>{dst}", fwd), (f"{dst}>{src}", back)):
        c = s["links"].get(key)
        if not c or not c.get("rx_packets"):
            continue
        m = c["rx_packets"]
        lsd = math.sqrt(spec.loss * (1 - spec.loss) / m)
        ltol = max(sigmas * lsd, 1.5 / m)
        if abs(c["loss"] - spec.loss) > ltol:
            fails.append(f"{key}: loss {c['loss']:.3f}, configured {spec.loss:.3f} +- {ltol:.3f}")
    if not s["received"]:
        fails.append("no echo came back")
        return fails
    want = (fwd.delay_ns + back.delay_ns) / 1e6
    med = s["rtt_ms"]["median"]
    if abs(med - want) > median_tol_ms:
        fails.append(f"RTT median {med:.3f} ms, expected {want:.3f} +- {median_tol_ms} ms")
    j = (fwd.jitter_ns + back.jitter_ns) / 1e6
    lo = want - j
    if s["rtt_ms"]["min"] < lo - 0.05:
        fails.append(f"RTT min {s['rtt_ms']['min']:.3f} ms below delay - jitter = {lo:.3f} ms")
    if jitter and (fwd.jitter_ns or back.jitter_ns) and s["received"] > 50:
        # The RTT spread is that of the sum of two uniform +-jitter draws (order is kept, and the
        # probe's packets are further apart than the jitter, so nothing holds a packet back).
        rnd = random.Random(0)
        j1, j2 = fwd.jitter_ns / 1e6, back.jitter_ns / 1e6
        sample = [rnd.uniform(-j1, j1) + rnd.uniform(-j2, j2) for _ in range(20000)]
        want_spread = _pct(sample, 0.9) - _pct(sample, 0.1)
        got_spread = s["rtt_ms"]["p90"] - s["rtt_ms"]["p10"]
        if not 0.7 * want_spread <= got_spread <= 1.4 * want_spread + 0.2:
            fails.append(f"RTT p90-p10 {got_spread:.3f} ms, expected about {want_spread:.3f} ms")
    return fails


def main(argv: List[str]) -> int:
    if argv[:1] == ["echo"] and len(argv) == 5:
        return _echo(argv[1], int(argv[2]), float(argv[3]), int(argv[4]))
    if argv[:1] == ["client"] and len(argv) == 7:
        return _client(argv[1], int(argv[2]), int(argv[3]), float(argv[4]), int(argv[5]),
                       float(argv[6]))
    print("usage: probe.py echo BIND PORT DURATION_S MAX_PACKETS\n"
          "       probe.py client DST PORT COUNT INTERVAL_S SIZE DRAIN_S\n"
          "(normally run by netem.py probe / test_netem.py)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
