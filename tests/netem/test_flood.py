#!/usr/bin/env python3
"""One host floods the broker with new QUIC connections; another host's clients stay served.

  handshake_flood_from_one_host_leaves_others_served   Host b runs flume-broker (default abuse
      limits: 100 new connections a second per source address, 200 at once). Host c runs
      `flume bench` (1 publisher, 1 subscriber, 2000 msg/s) twice: alone, then while host a sends
      QUIC Initial packets for new connections at FLOOD_RATE a second (random connection IDs, each
      a connection attempt). Checks: c connects and its bench completes under the flood with no
      message dropped; its p99 stays within max(P99_FLOOR_MS, P99_FACTOR x the baseline); and the
      broker's rate limit engaged: a's attempts past its buckets got Retries (at most as many as
      the Retry bucket allows) and then no answer at all, and no more of them were admitted than
      the buckets allow. Prints the same run against a broker without the limits for comparison
      (not asserted: on two shared cores the numbers are noisy).

The hosts are network namespaces over veth pairs (netem "nft" mode: the kernel moves the
packets, so the flood does not have to pass through a user-space emulator). Exit 77 (ctest
SKIP_RETURN_CODE) when this machine cannot create namespaces.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import netem  # noqa: E402

SKIP = 77
PORT = 7337
FLOOD_RATE = 5000  # Initial packets a second from host a
FLOOD_S = 9.0  # long enough to cover the bench's warm-up and measurement
P99_FLOOR_MS = 5.0
P99_FACTOR = 4.0
BURST, RATE = 200, 100  # the broker's defaults (--handshake-rate 100)

# A QUIC v1 Initial from a client that never finishes: random connection IDs, an undecryptable
# payload, padded to 1200 bytes (servers ignore shorter Initials). The server can only tell it
# is bogus after deriving the Initial keys and trying to decrypt, i.e. after it decided to
# start a connection: what a handshake flood costs it.
FLOODER = r"""
import os, socket, sys, time
host, port, rate, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sent, start = 0, time.monotonic()
while True:
    now = time.monotonic() - start
    if now >= seconds:
        break
    due = int(now * rate)
    if sent >= due:
        time.sleep(0.001)
        continue
    for _ in range(min(due - sent, 200)):
        body = os.urandom(4 + 1100)                     # packet number + payload
        length = len(body)
        head = bytes([0xC3, 0, 0, 0, 1, 8]) + os.urandom(8) + bytes([8]) + os.urandom(8)
        head += bytes([0]) + bytes([0x40 | (length >> 8), length & 0xFF])
        pkt = head + body
        pkt += bytes(max(0, 1200 - len(pkt)))
        s.sendto(pkt, (host, port))
        sent += 1
print(sent)
"""


def log(msg: str) -> None:
    print(msg, flush=True)


def stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


def bench(net, flume: str, ca: str, broker_addr: str) -> dict:
    r = net.run("c", [flume, "bench", "-s", f"flume://{broker_addr}:{PORT}", "--ca", ca,
                      "--rate", "2000", "--duration", "4", "--warmup", "1", "--json"],
                timeout=60, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"flume bench failed ({r.returncode}): {r.stderr.strip()[-400:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def admission(text: str) -> dict:
    """The last `admission:` stats line of the broker, as numbers."""
    lines = [line for line in text.splitlines() if line.startswith("admission:")]
    if not lines:
        return {}
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])}


def run_broker(net, broker: str, work: str, name: str, extra: list) -> subprocess.Popen:
    data = os.path.join(work, f"data-{name}")
    os.makedirs(data, exist_ok=True)
    out = open(os.path.join(work, f"broker-{name}.out"), "w")
    p = net.popen("b", [broker, "--listen", f"{net.addr('b')}:{PORT}", "--data-dir", data,
                        "--cert", os.path.join(work, "b.pem"), "--key",
                        os.path.join(work, "b.key"), "--stats-interval", "1", *extra],
                  stdout=out, stderr=subprocess.STDOUT)
    time.sleep(0.5)
    if p.poll() is not None:
        raise RuntimeError(f"the broker exited with {p.returncode}")
    return p


def one_run(net, broker: str, flume: str, ca: str, work: str, name: str, extra: list):
    """Baseline bench, then a bench under the flood; returns (base, flooded, admission, sent)."""
    p = run_broker(net, broker, work, name, extra)
    try:
        base = bench(net, flume, ca, net.addr("b"))
        flooder = net.popen("a", [sys.executable, "-c", FLOODER, net.addr("b"), str(PORT),
                                  str(FLOOD_RATE), str(FLOOD_S)],
                            stdout=subprocess.PIPE, text=True)
        started = time.monotonic()
        time.sleep(1.0)  # the flood is on before c connects
        try:
            flooded = bench(net, flume, ca, net.addr("b"))
        finally:
            out, _ = flooder.communicate(timeout=FLOOD_S + 30)
        sent = int(out.strip() or 0)
        flood_s = time.monotonic() - started
        time.sleep(1.2)  # one more stats line after the flood
    finally:
        stop(p)
    with open(os.path.join(work, f"broker-{name}.out")) as f:
        counts = admission(f.read())
    return base, flooded, counts, sent, flood_s


def describe(result: dict) -> str:
    lat = result["latency_us"]
    return (f"p50 {lat['p50'] / 1000:.2f} ms, p99 {lat['p99'] / 1000:.2f} ms, max "
            f"{lat['max'] / 1000:.2f} ms, received {result['receive']['messages']} of "
            f"{result['publish']['messages']}, drops {result['drops']}")


def test_flood(emulator: str, broker: str, flume: str) -> int:
    with tempfile.TemporaryDirectory(prefix="flume-flood-") as work, \
            netem.Net.up(hosts=["a", "b", "c"], mode="nft", emulator=emulator) as net:
        subprocess.run([broker, "cluster", "init-ca", "--dir", work], check=True,
                       capture_output=True, timeout=30)
        subprocess.run([broker, "cluster", "issue-node", "b", "--dir", work, "--ip",
                        net.addr("b")], check=True, capture_output=True, timeout=30)
        ca = os.path.join(work, "ca.pem")

        base, flooded, counts, sent, flood_s = one_run(net, broker, flume, ca, work, "limited", [])
        log(f"flood: {sent} Initials from a in {flood_s:.1f} s")
        log(f"c alone:        {describe(base)}")
        log(f"c under flood:  {describe(flooded)}")
        log(f"broker admission counters: {counts}")

        off_base, off_flooded, off_counts, off_sent, _ = one_run(
            net, broker, flume, ca, work, "unlimited",
            ["--handshake-rate", "0", "--max-connections-per-address", "0"])
        log(f"without the limits (not asserted): c alone {describe(off_base)}; "
            f"under flood {describe(off_flooded)}; counters {off_counts}")

        failures = []
        base_p99 = base["latency_us"]["p99"] / 1000
        flood_p99 = flooded["latency_us"]["p99"] / 1000
        bound = max(P99_FLOOR_MS, P99_FACTOR * base_p99)
        if flood_p99 > bound:
            failures.append(f"p99 under the flood {flood_p99:.2f} ms > {bound:.2f} ms")
        drops = flooded["drops"]
        if drops["broker"] or drops["local"] or flooded["errors"]:
            failures.append(f"c's bench under the flood dropped messages or failed: {drops}, "
                            f"errors {flooded['errors']}")
        retries = counts.get("retries_for_rate", 0)
        silenced = counts.get("dropped_for_rate", 0)
        budget = BURST + RATE * (flood_s + 1)  # one bucket: its depth plus its refill
        if silenced < sent // 2:
            failures.append(f"only {silenced} of {sent} flood Initials went unanswered: the "
                            "per-address rate limit did not engage")
        if retries > budget:
            failures.append(f"{retries} Retries sent, more than the Retry bucket's {budget:.0f}")
        admitted = sent - retries - silenced - counts.get("refused_rate", 0)
        if admitted > budget:
            failures.append(f"{admitted} of a's attempts admitted, more than {budget:.0f}")
        for f in failures:
            log(f"FAIL: {f}")
        return 1 if failures else 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("test", choices=["handshake_flood_from_one_host_leaves_others_served"])
    ap.add_argument("--emulator", required=True)
    ap.add_argument("--broker", required=True)
    ap.add_argument("--flume", required=True)
    a = ap.parse_args()
    try:
        netem.check_environment("nft")
        return test_flood(a.emulator, a.broker, a.flume)
    except netem.Unavailable as e:
        log(f"SKIP: {e}")
        return SKIP


if __name__ == "__main__":
    sys.exit(main())
