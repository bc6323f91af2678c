#!/usr/bin/env python3
"""A client given five brokers connects to the nearest and, when it is killed, moves on.

  nearest_broker_then_next_after_a_kill   Hosts b..f each run a flume-broker; host a runs
      `flume sub -s URL,URL,...` with all five. One-way delays from a: b 40 ms, c 10 ms, d 20 ms,
      e 30 ms, f 50 ms. Every broker host publishes its own name on one subject every 10 ms, so
      what the subscriber prints says which broker it is on. It must be c (the nearest). Then c's
      broker is killed (SIGKILL): the subscriber must be receiving again within 2 s, from d (the
      nearest still answering), and say on stderr that the connection was lost.

Exit 77 (ctest SKIP_RETURN_CODE) when this machine cannot create namespaces or TUN devices.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import netem  # noqa: E402

SKIP = 77
PORT = 7337
SUBJECT = "nearest.tick"
DELAY_MS = {"b": 40, "c": 10, "d": 20, "e": 30, "f": 50}  # one way, between a and each broker
DEADLINE_S = 2.0  # issue 14: "kill it: they are on the next one and receiving within 2 s"


def log(msg: str) -> None:
    print(msg, flush=True)


class Lines:
    """Reads a process's output lines on a thread, each with the time it arrived."""

    def __init__(self, stream):
        self.lines: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        for line in stream:
            with self.lock:
                self.lines.append((time.monotonic(), line.rstrip("\n")))

    def since(self, t: float) -> list[tuple[float, str]]:
        with self.lock:
            return [(at, line) for at, line in self.lines if at >= t]

    def wait_for(self, text: str, after: float, limit_s: float) -> float | None:
        """The arrival time of the first line equal to `text` at or after `after`."""
        end = time.monotonic() + limit_s
        while time.monotonic() < end:
            for at, line in self.since(after):
                if line == text:
                    return at
            time.sleep(0.01)
        return None


def stop(processes) -> None:
    for p in processes:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in processes:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


def make_certificates(broker_bin: str, work: str, net) -> str:
    """A CA and, per broker host, a certificate naming its emulated address; returns ca.pem."""
    subprocess.run([broker_bin, "cluster", "init-ca", "--dir", work], check=True,
                   capture_output=True, timeout=30)
    for host in DELAY_MS:
        subprocess.run([broker_bin, "cluster", "issue-node", host, "--dir", work, "--ip",
                        net.addr(host)], check=True, capture_output=True, timeout=30)
    return os.path.join(work, "ca.pem")


def test_nearest(emulator: str, broker_bin: str, flume_bin: str) -> int:
    links = {}
    for host, delay in DELAY_MS.items():
        links[("a", host)] = {"delay": f"{delay}ms"}
        links[(host, "a")] = {"delay": f"{delay}ms"}
    processes = []
    with tempfile.TemporaryDirectory(prefix="flume-nearest-") as work, \
            netem.Net.up(hosts=["a", *DELAY_MS], links=links, delay="1ms", mode="tun",
                         emulator=emulator) as net:
        try:
            ca = make_certificates(broker_bin, work, net)
            brokers = {}
            for host in DELAY_MS:
                data = os.path.join(work, f"data-{host}")
                os.makedirs(data)
                brokers[host] = net.popen(host, [
                    broker_bin, "--listen", f"{net.addr(host)}:{PORT}", "--data-dir", data,
                    "--cert", os.path.join(work, f"{host}.pem"),
                    "--key", os.path.join(work, f"{host}.key")],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                processes.append(brokers[host])
            time.sleep(0.5)
            for host, p in brokers.items():
                if p.poll() is not None:
                    log(f"FAIL: the broker on {host} exited with {p.returncode}")
                    return 1

            # Publishers, one per broker host, each on its own broker (no emulated delay):
            # 10 ms apart, bounded to 1500 lines (15 s).
            for host in DELAY_MS:
                script = (f"i=0; while [ $i -lt 1500 ]; do echo {host}; sleep 0.01; "
                          f"i=$((i+1)); done | {flume_bin} pub -q -s "
                          f"flume://{net.addr(host)}:{PORT} --ca {ca} {SUBJECT}")
                processes.append(net.popen(host, ["sh", "-c", script],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

            urls = ",".join(f"flume://{net.addr(h)}:{PORT}" for h in DELAY_MS)
            started = time.monotonic()
            subscriber = net.popen("a", [flume_bin, "sub", "-s", urls, "--ca", ca, "--timeout",
                                         "20000", SUBJECT],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            processes.append(subscriber)
            out = Lines(subscriber.stdout)
            err = Lines(subscriber.stderr)

            first = out.wait_for("c", started, 10)
            if first is None:
                seen = sorted({line for _, line in out.since(started)})
                log(f"FAIL: nothing from c (the nearest) within 10 s; from {seen}")
                return 1
            # Only c's messages, once it is receiving.
            time.sleep(0.5)
            others = sorted({line for at, line in out.since(first) if line != "c"})
            log(f"subscribed through c (10 ms away) {first - started:.3f} s after starting; "
                f"lines from others meanwhile: {others}")
            if others:
                log(f"FAIL: the client also received from {others}")
                return 1

            brokers["c"].send_signal(signal.SIGKILL)
            brokers["c"].wait(timeout=5)
            killed = time.monotonic()
            back = out.wait_for("d", killed, 10)
            if back is None:
                seen = sorted({line for _, line in out.since(killed)})
                log(f"FAIL: nothing from d within 10 s of killing c; since then from {seen}; "
                    f"stderr: {[line for _, line in err.since(started)]}")
                return 1
            took = back - killed
            time.sleep(0.7)
            after = sorted({line for at, line in out.since(back + 0.2)})
            log(f"c killed: receiving from d {took * 1000:.0f} ms later "
                f"(target {DEADLINE_S * 1000:.0f} ms); sources since: {after}")
            lost = [line for _, line in err.since(killed) if "lost" in line or "connection" in line]
            log(f"flume sub said: {lost[:3]}")
            failures = []
            if took > DEADLINE_S:
                failures.append(f"took {took:.3f} s, over {DEADLINE_S} s")
            if after != ["d"]:
                failures.append(f"after the move it received from {after}, not only d")
            if not lost:
                failures.append("flume sub said nothing about the lost connection")
            for f in failures:
                log(f"FAIL: {f}")
            return 1 if failures else 0
        finally:
            stop(processes)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("test", choices=["nearest_broker_then_next_after_a_kill"])
    ap.add_argument("--emulator", required=True)
    ap.add_argument("--broker", required=True)
    ap.add_argument("--flume", required=True)
    a = ap.parse_args()
    try:
        netem.check_environment("tun")
        return test_nearest(a.emulator, a.broker, a.flume)
    except netem.Unavailable as e:
        log(f"SKIP: {e}")
        return SKIP


if __name__ == "__main__":
    sys.exit(main())
