"""python -m flume.bench: how many messages one Python process receives, and how late.

One subscriber in this process takes messages with ``recv_batch``; a publisher in another process
sends as fast as it can (or at ``--rate``). By default the broker is embedded in this process
(its own thread, which never holds the GIL) and the publisher is another Python process; ``--url``
uses a running broker, ``--publisher flume`` the C++ ``flume bench`` tool as the publisher.

Every payload starts with the CLOCK_MONOTONIC time it was sent (nanoseconds, little-endian, the
layout ``flume bench`` uses), so latency is measured from publish to the batch that handed the
message to Python. The summary goes to stdout (``--json`` for one JSON object).
"""

from __future__ import annotations

import argparse
import json
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from array import array
from typing import Any, Dict, List, Optional

from . import _flume
from .errors import ConnectionError

_STAMP = struct.Struct("<QQ")  # send time (ns, CLOCK_MONOTONIC), sequence


def _publish(args: argparse.Namespace) -> None:
    """The publisher role: publishes for --seconds, then prints how many it sent."""
    client = _flume.connect(args.url, ca_file=args.ca, name="flume-bench-publisher")
    payload = bytearray(max(args.size, _STAMP.size))
    publish = client.publish
    pack = _STAMP.pack_into
    clock = time.monotonic_ns
    subject = args.subject
    sent = 0
    refused = 0
    flushed_at = 0
    start = clock()
    end = start + int(args.seconds * 1e9)
    burst = 64
    while True:
        now = clock()
        if now >= end:
            break
        if args.rate > 0:
            due = int((now - start) * args.rate / 1e9)
            if due <= sent:
                time.sleep(min(0.0005, (sent - due + 1) / args.rate))
                continue
            burst = min(256, due - sent)
        for _ in range(burst):
            pack(payload, 0, now, sent)
            try:
                publish(subject, payload)
            except ConnectionError:  # reconnecting: not sent
                refused += 1
            sent += 1
        # publish() waits only once max_pending_bytes (8 MiB) wait for the network, so a publisher
        # faster than the path would still queue 8 MiB (and latency with it): wait for the broker
        # once per window, as `flume bench` does.
        if args.window and sent - flushed_at >= args.window:
            client.flush(10.0)
            flushed_at = sent
    client.flush(5.0)
    elapsed = (clock() - start) / 1e9
    client.close()
    print(json.dumps({"sent": sent, "refused": refused, "seconds": elapsed}), flush=True)


def _percentile(sorted_values: List[int], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(q * len(sorted_values)))
    return sorted_values[index] / 1000.0  # microseconds


def _start_publisher(args: argparse.Namespace, url: str,
                     ca: Optional[str]) -> "subprocess.Popen[str]":
    seconds = args.warmup + args.duration + 0.5
    if args.publisher == "flume":
        tool = args.flume_bin or shutil.which("flume")
        if tool is None:
            sys.exit("flume.bench: --publisher flume needs --flume-bin or `flume` on PATH")
        command = [tool, "bench", "--server", url, "--subscribers", "0", "--size", str(args.size),
                   "--subject", args.subject, "--duration", str(seconds), "--warmup", "0",
                   "--quiet", "--json"]
        if ca:
            command += ["--ca", ca]
        if args.rate:
            command += ["--rate", str(args.rate)]
    else:
        command = [sys.executable, "-m", "flume.bench", "--role", "publish", "--url", url,
                   "--size", str(args.size), "--subject", args.subject, "--rate", str(args.rate),
                   "--window", str(args.window), "--seconds", str(seconds)]
        if ca:
            command += ["--ca", ca]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def run(args: argparse.Namespace) -> Dict[str, Any]:
    """Runs one measurement and returns the summary."""
    broker = None
    data_dir = None
    url, ca = args.url, args.ca
    if url is None:
        data_dir = tempfile.mkdtemp(prefix="flume-bench-")
        broker = _flume.Broker("127.0.0.1:0", data_dir=data_dir)
        url, ca = broker.url, broker.certificate_path
    client = _flume.connect(url, ca_file=ca, name="flume-bench-subscriber")
    sub = client.subscribe(args.subject, queue_limit=args.queue)
    publisher = _start_publisher(args, url, ca)

    received = 0
    latencies = array("q")
    unpack = struct.Struct("<Q").unpack_from
    clock = time.monotonic_ns
    recv_batch = sub.recv_batch
    batch_size = args.batch
    start = clock()
    measure_from = start + int(args.warmup * 1e9)
    measure_to = measure_from + int(args.duration * 1e9)
    measuring = False
    stats_at_start = None
    while True:
        batch = recv_batch(batch_size, 1.0)
        now = clock()
        if not measuring and now >= measure_from:
            measuring = True
            stats_at_start = sub.stats()
            measure_from = now
        if now >= measure_to:
            break
        if not batch:
            if publisher.poll() is not None:
                break
            continue
        if measuring:
            received += len(batch)
            append = latencies.append
            for message in batch:
                append(now - unpack(message.data)[0])
    elapsed = (clock() - measure_from) / 1e9
    stats = sub.stats()

    out, _ = publisher.communicate(timeout=30)
    publisher_summary: Dict[str, Any] = {}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            publisher_summary = json.loads(line)
    sub.close()
    client.close()
    if broker is not None:
        broker.stop()
    if data_dir is not None:
        shutil.rmtree(data_dir, ignore_errors=True)

    values = sorted(latencies)
    dropped_broker = stats.dropped_by_broker - (stats_at_start.dropped_by_broker if stats_at_start else 0)
    dropped_local = stats.dropped_locally - (stats_at_start.dropped_locally if stats_at_start else 0)
    return {
        "size": args.size,
        "batch": batch_size,
        "seconds": round(elapsed, 3),
        "received": received,
        "msg_per_s": round(received / elapsed) if elapsed > 0 else 0,
        "mb_per_s": round(received * args.size / elapsed / 1e6, 1) if elapsed > 0 else 0,
        "latency_us": {
            "p50": _percentile(values, 0.50),
            "p90": _percentile(values, 0.90),
            "p99": _percentile(values, 0.99),
            "p99.9": _percentile(values, 0.999),
            "max": values[-1] / 1000.0 if values else float("nan"),
        },
        "dropped_by_broker": dropped_broker,
        "dropped_locally": dropped_local,
        "publisher": args.publisher,
        "publisher_summary": publisher_summary,
        "broker": "embedded" if broker is not None else url,
    }


def _print(summary: Dict[str, Any]) -> None:
    lat = summary["latency_us"]
    print(f"flume.bench: 1 Python subscriber, recv_batch({summary['batch']}), "
          f"{summary['size']}-byte messages, {summary['seconds']} s measured, "
          f"publisher: {summary['publisher']}, broker: {summary['broker']}")
    print(f"receive   {summary['msg_per_s']:,} msg/s ({summary['received']:,} messages, "
          f"{summary['mb_per_s']} MB/s of payload)")
    print(f"latency   p50 {lat['p50']:.0f} µs  p90 {lat['p90']:.0f} µs  p99 {lat['p99']:.0f} µs  "
          f"p99.9 {lat['p99.9']:.0f} µs  max {lat['max']:.0f} µs")
    print(f"drops     {summary['dropped_by_broker']:,} by the broker, "
          f"{summary['dropped_locally']:,} locally")
    pub = summary["publisher_summary"]
    if "sent" in pub and pub.get("seconds"):
        print(f"publisher {pub['sent'] / pub['seconds']:,.0f} msg/s sent")
    elif "publish_msg_per_s" in pub:
        print(f"publisher {pub['publish_msg_per_s']:,.0f} msg/s sent")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flume.bench",
        description="Receive throughput and latency of one Python subscriber.")
    parser.add_argument("--url", help="a running broker (default: one embedded in this process)")
    parser.add_argument("--ca", help="its certificate (PEM), for --url")
    parser.add_argument("--size", type=int, default=128, help="payload bytes (default 128)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring")
    parser.add_argument("--batch", type=int, default=1024, help="recv_batch size")
    parser.add_argument("--queue", type=int, default=65536,
                        help="the broker's queue for the subscription (messages)")
    parser.add_argument("--rate", type=int, default=0,
                        help="publish rate in msg/s (default 0: as fast as possible)")
    parser.add_argument("--subject", default="bench")
    parser.add_argument("--window", type=int, default=16384,
                        help="the Python publisher flushes every WINDOW messages (0: never)")
    parser.add_argument("--publisher", choices=["python", "flume"], default="python",
                        help="another Python process (default) or the C++ `flume bench`")
    parser.add_argument("--flume-bin", help="the `flume` program, for --publisher flume")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--role", choices=["subscribe", "publish"], default="subscribe",
                        help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=6.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.size < _STAMP.size:
        parser.error(f"--size must be at least {_STAMP.size}")
    if args.role == "publish":
        _publish(args)
        return 0
    summary = run(args)
    if args.json:
        print(json.dumps(summary))
    else:
        _print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
