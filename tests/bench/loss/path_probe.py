#!/usr/bin/env python3
"""Watches the emulated path itself during a benchmark run: UDP echo probes every 20 ms.

The load generator's timer-lag probe only sees its own thread being late. A stall elsewhere (the
emulator or a broker descheduled, the kernel busy creating namespaces) delays every system's
messages by the same seconds while the load generator's timers stay punctual; the probe's round
trips show it. Lost probes are simply missing (the link's loss applies to them too), so loss
never looks like a stall; only a round trip far above the configured delay does.

  path_probe.py echo --bind 10.77.0.2:9999 --lifetime 600
  path_probe.py send --to 10.77.0.2:9999 --lifetime 600     # JSON summary on SIGTERM or lifetime
"""
import argparse
import json
import select
import signal
import socket
import struct
import sys
import time

PROBE = struct.Struct("!QQ")  # sequence, send time (CLOCK_MONOTONIC ns)


def addr(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def echo(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(addr(args.bind))
    deadline = time.monotonic() + args.lifetime
    while time.monotonic() < deadline:
        r, _, _ = select.select([s], [], [], 1.0)
        if r:
            data, peer = s.recvfrom(64)
            s.sendto(data, peer)


def send(args):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(addr(args.to))
    rtts, seq, errors = [], 0, 0
    deadline = time.monotonic() + args.lifetime
    next_send = time.monotonic()
    while not stop and time.monotonic() < deadline:
        now = time.monotonic()
        if now >= next_send:
            try:
                s.send(PROBE.pack(seq, time.monotonic_ns()))
            except OSError:  # nothing listening yet (ICMP port unreachable): not a stall
                errors += 1
            seq += 1
            next_send += args.interval
            continue
        try:
            r, _, _ = select.select([s], [], [], next_send - now)
        except InterruptedError:
            continue
        if r:
            try:
                data = s.recv(64)
            except OSError:
                errors += 1
                continue
            if len(data) == PROBE.size:
                _, t = PROBE.unpack(data)
                rtts.append((time.monotonic_ns() - t) // 1000)
    rtts.sort()

    def pct(p):
        return rtts[min(len(rtts) - 1, int(p * len(rtts)))] if rtts else -1

    json.dump({"sent": seq, "received": len(rtts), "errors": errors, "p50_us": pct(0.5),
               "p99_us": pct(0.99), "max_us": rtts[-1] if rtts else -1}, sys.stdout)
    sys.stdout.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("echo")
    e.add_argument("--bind", required=True)
    e.add_argument("--lifetime", type=float, default=600)
    s = sub.add_parser("send")
    s.add_argument("--to", required=True)
    s.add_argument("--interval", type=float, default=0.02)
    s.add_argument("--lifetime", type=float, default=600)
    args = ap.parse_args()
    echo(args) if args.cmd == "echo" else send(args)


if __name__ == "__main__":
    main()
