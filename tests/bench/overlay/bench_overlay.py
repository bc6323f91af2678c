#!/usr/bin/env python3
"""Overlay benchmark on loopback: what one hop between two nodes costs (docs/benchmarks.md,
"Overlay: one hop on loopback").

Two set-ups, each with real flume-broker processes on 127.0.0.1 and the `flume` CLI as clients:

  one node    publisher and subscriber on the same broker
  two nodes   publisher at n1, subscriber at n2; n1 forwards every message over its node link

Measured in each (median over --repeats):

  latency     a paced publisher (`flume pub` fed "<seq> <sent ns>" lines, one per --interval)
              and `flume sub`; latency = arrival of the line at this script - sent time (both on
              this machine's clock). The CLI pipes add the same to both set-ups, so the difference
              of the two is the hop.
  CPU         broker CPU seconds (utime + stime from /proc/PID/stat, minus the same broker's idle
              rate) per message, for --count messages published at --rate messages/s
              through one `flume pub`. Per hop = (n1 + n2 - single) / messages.

  bench_overlay.py [--broker B] [--flume F] [--count N] [--rate R] [--latency-count N]
                   [--interval S] [--repeats R] [--json FILE] [--smoke]

--smoke (ctest bench_overlay.smoke): small counts, one repeat; checks that every message arrived
and every number is finite, not how big they are.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


def find_program(explicit: Optional[str], name: str, rel: str) -> str:
    if explicit:
        return explicit
    found = sorted(glob.glob(os.path.join(ROOT, "build", "*", rel)), key=os.path.getmtime)
    if found:
        return found[-1]
    p = shutil.which(name)
    if not p:
        raise BenchError(f"no {name}: build it or pass --{name.split('-')[-1]}")
    return p


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    fields = data[data.rindex(b")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def wait_for(cond, timeout_s: float, step_s: float = 0.05):
    deadline = time.monotonic() + timeout_s
    while True:
        v = cond()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step_s)


def percentile(values: Sequence[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))] if s else float("nan")


class Broker:
    def __init__(self, exe: str, work: str, name: str, extra: Sequence[str] = ()):
        self.name = name
        self.port = free_udp_port()
        self.data_dir = os.path.join(work, f"data-{name}")
        os.makedirs(self.data_dir, exist_ok=True)
        self.log_path = os.path.join(work, f"{name}.log")
        argv = [exe, "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.data_dir,
                "--stats-interval", "1", *extra]
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT)
        if not wait_for(lambda: " listening on " in self.text() or self.proc.poll() is not None,
                        20) or self.proc.poll() is not None:
            raise BenchError(f"{name} did not start:\n{self.text()[-2000:]}")

    def text(self) -> str:
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def links_up(self) -> Optional[int]:
        for line in reversed(self.text().splitlines()):
            if line.startswith("cluster: links_up="):
                return int(line.split()[1].split("=")[1])
        return None

    def client_args(self) -> List[str]:
        return ["-s", f"flume://127.0.0.1:{self.port}", "--ca",
                os.path.join(self.data_dir, "cert.pem")]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


class Sub:
    """flume sub with every line timestamped on arrival."""

    def __init__(self, flume: str, broker: Broker, pattern: str):
        self.arrivals: List[Tuple[int, str]] = []
        self.err: List[str] = []
        self.proc = subprocess.Popen(
            [flume, "sub", *broker.client_args(), "--format", "line", "--timeout", "600000",
             pattern],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        threading.Thread(target=self._out, daemon=True).start()
        threading.Thread(target=self._err, daemon=True).start()
        if not wait_for(lambda: any("subscribed to" in x for x in self.err)
                        or self.proc.poll() is not None, 15) or self.proc.poll() is not None:
            raise BenchError(f"flume sub did not subscribe: {self.err}")

    def _out(self):
        for raw in iter(self.proc.stdout.readline, b""):
            self.arrivals.append((time.time_ns(), raw.decode(errors="replace").rstrip("\n")))

    def _err(self):
        for raw in iter(self.proc.stderr.readline, b""):
            self.err.append(raw.decode(errors="replace").rstrip("\n"))

    def count(self, subject: str) -> int:
        prefix = subject + ": "
        return sum(1 for _, x in self.arrivals if x.startswith(prefix))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def publish(flume: str, broker: Broker, subject: str, lines: Sequence[str]) -> None:
    p = subprocess.run([flume, "pub", *broker.client_args(), "-q", subject],
                       input="".join(x + "\n" for x in lines).encode(), capture_output=True,
                       timeout=300)
    if p.returncode != 0:
        raise BenchError(f"flume pub exited {p.returncode}: {p.stderr.decode().strip()}")


def publish_at_rate(flume: str, broker: Broker, subject: str, payload: str, count: int,
                    rate: float) -> None:
    """count messages through one `flume pub`, fed in batches of 500 at rate messages/s (as fast
    as it goes would overrun the subscriber's queue on a busy machine and measure drops)."""
    proc = subprocess.Popen([flume, "pub", *broker.client_args(), "-q", subject],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    batch = (payload + "\n").encode() * 500
    start = time.monotonic()
    for i in range(0, count, 500):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        proc.stdin.write(batch[:(min(500, count - i)) * (len(payload) + 1)])
        proc.stdin.flush()
    proc.stdin.close()
    if proc.wait(timeout=120) != 0:
        raise BenchError(f"flume pub exited {proc.returncode}: {proc.stderr.read().decode()}")


def paced_latencies(flume: str, pub_at: Broker, sub: Sub, subject: str, count: int,
                    interval_s: float) -> List[float]:
    """One-way latencies in ms of count messages published one per interval."""
    proc = subprocess.Popen([flume, "pub", *pub_at.client_args(), "-q", subject],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    # A first line, and the timed ones only once it arrived: `flume pub` connects before it
    # reads its input, and that wait is not what is measured.
    proc.stdin.write(b"warm\n")
    proc.stdin.flush()
    wait_for(lambda: sub.count(subject) >= 1, 15)
    start = time.monotonic()
    for i in range(count):
        delay = start + i * interval_s - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        proc.stdin.write(f"{i} {time.time_ns()}\n".encode())
        proc.stdin.flush()
    proc.stdin.close()
    if proc.wait(timeout=60) != 0:
        raise BenchError(f"paced flume pub exited {proc.returncode}")
    wait_for(lambda: sub.count(subject) >= count, 30)
    prefix = subject + ": "
    got = [(t, x[len(prefix):].split()) for t, x in sub.arrivals
           if x.startswith(prefix) and x != prefix + "warm"]
    if len(got) != count:
        raise BenchError(f"latency run: {len(got)} of {count} messages arrived")
    return [(t - int(f[1])) / 1e6 for t, f in got]


def idle_rate(brokers: Sequence[Broker], seconds: float = 2.0) -> Dict[str, float]:
    """CPU seconds per second each broker spends with nothing to do (stats lines, timers)."""
    before = {b.name: cpu_seconds(b.proc.pid) for b in brokers}
    time.sleep(seconds)
    return {b.name: (cpu_seconds(b.proc.pid) - before[b.name]) / seconds for b in brokers}


def run_setup(kind: str, a, work: str) -> Dict[str, object]:
    """One repeat of one set-up: returns latencies and CPU per message per broker."""
    brokers: List[Broker] = []
    sub: Optional[Sub] = None
    try:
        if kind == "one node":
            pub_at = sub_at = Broker(a.broker, work, "single")
            brokers = [pub_at]
        else:
            ca = os.path.join(work, "cluster")
            if not os.path.exists(os.path.join(ca, "ca.pem")):
                for cmd in (["init-ca"], ["issue-node", "n1"], ["issue-node", "n2"]):
                    subprocess.run([a.broker, "cluster", *cmd, "--dir", ca], check=True,
                                   capture_output=True, timeout=30)
            node_ports = [free_udp_port(), free_udp_port()]

            def node(n, peers):
                port = node_ports[int(n[1]) - 1]
                extra = ["--node-name", n, "--cluster-listen", f"127.0.0.1:{port}",
                         "--cluster-ca", f"{ca}/ca.pem", "--node-cert", f"{ca}/{n}.pem",
                         "--node-key", f"{ca}/{n}.key"]
                for p in peers:
                    extra += ["--peer", f"127.0.0.1:{p}"]
                return Broker(a.broker, work, n, extra)

            pub_at = node("n1", [])
            sub_at = node("n2", [node_ports[0]])
            brokers = [pub_at, sub_at]
            if not wait_for(lambda: pub_at.links_up() == 1 and sub_at.links_up() == 1, 20):
                raise BenchError("n1 and n2 did not link within 20 s")
        sub = Sub(a.flume, sub_at, "bench.>")
        # Warm-up: until a message arrives (at two nodes: n2's interest has reached n1).
        deadline = time.monotonic() + 20
        while sub.count("bench.warm") == 0:
            if time.monotonic() > deadline:
                raise BenchError("warm-up message never arrived")
            publish(a.flume, pub_at, "bench.warm", ["w"] * 10)
            wait_for(lambda: sub.count("bench.warm") > 0, 0.5)
        lat = paced_latencies(a.flume, pub_at, sub, "bench.lat", a.latency_count, a.interval)
        # CPU: a subscriber that only counts (to /dev/null), with the same pattern so no new
        # advert is needed; the timed one goes away first so it cannot fall behind and drop.
        counter = subprocess.Popen(
            [a.flume, "sub", *sub_at.client_args(), "-n", str(a.count), "--timeout", "60000",
             "--queue", "65536", "--exit-on-gap", "bench.>"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            line = counter.stderr.readline()
            if "subscribed to" not in line:
                raise BenchError(f"counting flume sub: {line.strip()}")
            sub.stop()
            idle = idle_rate(brokers)
            payload = "x" * 32
            before = {b.name: cpu_seconds(b.proc.pid) for b in brokers}
            t0 = time.monotonic()
            publish_at_rate(a.flume, pub_at, "bench.cpu", payload, a.count, a.rate)
            status = counter.wait(timeout=90)
            elapsed = time.monotonic() - t0
        finally:
            if counter.poll() is None:
                counter.kill()
                counter.wait(timeout=5)
        received = a.count if status == 0 else 0
        if status != 0:
            raise BenchError(f"{kind}: the counting subscriber exited {status} (messages lost: "
                             f"{counter.stderr.read().strip()})")
        cpu = {b.name: max(0.0, cpu_seconds(b.proc.pid) - before[b.name] - idle[b.name] * elapsed)
               for b in brokers}
        return {"latency_ms": lat, "cpu_s": cpu, "received": received, "elapsed_s": elapsed}
    finally:
        if sub:
            sub.stop()
        for b in brokers:
            b.stop()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--broker", help="flume-broker (default: newest build/*/broker/flume-broker)")
    ap.add_argument("--flume", help="flume CLI (default: newest build/*/tools/flume)")
    ap.add_argument("--count", type=int, default=200000, help="messages for the CPU measurement")
    ap.add_argument("--rate", type=float, default=20000,
                    help="messages per second in the CPU measurement")
    ap.add_argument("--latency-count", type=int, default=2000)
    ap.add_argument("--interval", type=float, default=0.002, help="seconds between paced messages")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--smoke", action="store_true", help="short run for ctest")
    a = ap.parse_args(argv)
    if a.smoke:
        a.count, a.latency_count, a.repeats = 20000, 200, 1
    try:
        a.broker = find_program(a.broker, "flume-broker", "broker/flume-broker")
        a.flume = find_program(a.flume, "flume", "tools/flume")
        results: Dict[str, List[dict]] = {"one node": [], "two nodes": []}
        for r in range(a.repeats):
            for kind in results:
                work = tempfile.mkdtemp(prefix="flume-bench-overlay-")
                try:
                    res = run_setup(kind, a, work)
                finally:
                    shutil.rmtree(work, ignore_errors=True)
                lat = res["latency_ms"]
                log(f"repeat {r + 1} {kind}: latency p50 {percentile(lat, 50):.3f} ms p99 "
                    f"{percentile(lat, 99):.3f} ms; CPU {res['cpu_s']} s for {a.count} messages "
                    f"({res['received']} received, {res['elapsed_s']:.2f} s)")
                if res["received"] < a.count:
                    raise BenchError(f"{kind}: {res['received']} of {a.count} messages arrived")
                results[kind].append(res)
    except BenchError as e:
        log(f"bench_overlay: {e}")
        return 1

    def med(kind, f):
        return statistics.median(f(x) for x in results[kind])

    summary = {}
    for kind in results:
        summary[kind] = {
            "p50_ms": med(kind, lambda x: percentile(x["latency_ms"], 50)),
            "p99_ms": med(kind, lambda x: percentile(x["latency_ms"], 99)),
            "cpu_us_per_msg": {n: med(kind, lambda x, n=n: x["cpu_s"][n]) / a.count * 1e6
                               for n in results[kind][0]["cpu_s"]},
        }
    one, two = summary["one node"], summary["two nodes"]
    hop_cpu = (sum(two["cpu_us_per_msg"].values()) - one["cpu_us_per_msg"]["single"])
    summary["hop"] = {"added_p50_ms": two["p50_ms"] - one["p50_ms"],
                      "added_p99_ms": two["p99_ms"] - one["p99_ms"],
                      "cpu_us_per_msg": hop_cpu}
    summary["setup"] = {"count": a.count, "rate": a.rate, "latency_count": a.latency_count,
                        "interval_s": a.interval, "repeats": a.repeats,
                        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, "
                                   f"kernel {platform.release()}",
                        "broker": a.broker}
    print(f"{'':10} {'p50 ms':>8} {'p99 ms':>8}  broker CPU µs/message")
    for kind in ("one node", "two nodes"):
        s = summary[kind]
        cpu = ", ".join(f"{n} {v:.1f}" for n, v in s["cpu_us_per_msg"].items())
        print(f"{kind:10} {s['p50_ms']:8.3f} {s['p99_ms']:8.3f}  {cpu}")
    h = summary["hop"]
    print(f"one hop adds: p50 {h['added_p50_ms']:+.3f} ms, p99 {h['added_p99_ms']:+.3f} ms, "
          f"{h['cpu_us_per_msg']:.1f} µs of broker CPU per message")
    print(json.dumps(summary))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=1)
    numbers = [one["p50_ms"], one["p99_ms"], two["p50_ms"], two["p99_ms"], hop_cpu]
    if not all(math.isfinite(x) for x in numbers):
        log(f"bench_overlay: a result is not a number: {numbers}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
