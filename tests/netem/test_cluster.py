#!/usr/bin/env python3
"""The overlay (docs/overlay.md) in the network emulator: every node a flume-broker in its own
network namespace (tests/netem, nft mode: veth links, nftables loss and blocking), linked by real
QUIC/HTTP/3 node links; clients are the real `flume` command inside the nodes' namespaces.

  three_nodes_deliver_once_in_order       publish at a; subscribers at b and c get every message
                                          once, in order per publisher
  five_nodes_deliver_only_where_wanted    subscribers at c and e get everything once; d (another
                                          pattern) and b (no subscriber) receive no data at all
  joining_node_receives                   c starts after a and b are linked, and receives
  killed_node_survivors_keep_delivering   SIGKILL b: a -> c goes on, complete and in order; a and c
                                          report the link down within 2 s (dialer side: ICMP port
                                          unreachable; listener side: no probe for 1.5 s)
  foreign_ca_node_is_refused              a node with a certificate from another CA never links
  loss_on_one_link_delays_only_its_subjects
                                          10% loss a<->c: at c, the subject from a has a higher
                                          p99 latency than the subject from b (clean link)
  relay_reaches_node_without_direct_link  a and c cannot reach each other; a message from a reaches
                                          c through b

  test_cluster.py CASE --broker FLUME-BROKER --flume FLUME [--emulator FLUME-NETEM]

Exit 77 (ctest SKIP_RETURN_CODE) when this machine cannot create namespaces.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import netem  # noqa: E402

SKIP = 77
CLIENT_PORT = 7337
NODE_PORT = 7338
LOSS_DELAY = "5ms"  # one way, every link, in the loss case (tun mode)


def log(msg: str) -> None:
    print(msg, flush=True)


class Failed(Exception):
    """A check of the case failed (the message says which)."""


def wait_for(cond, timeout_s: float, step_s: float = 0.05):
    """cond() until it is truthy or timeout_s passed; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = cond()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step_s)


def percentile(values: Sequence[float], p: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


# ---------------------------------------------------------------------------------------------
# Nodes and clients


class Node:
    """One flume-broker in one emulated host: client port 7337 on every address of its namespace
    (clients run inside it and dial 127.0.0.1), node links on <host address>:7338."""

    def __init__(self, cluster: "Cluster", host: str, peers: Sequence[str], ca_dir: str,
                 extra: Sequence[str] = ()):
        self.host = host
        self.cluster = cluster
        net = cluster.net
        self.data_dir = os.path.join(cluster.work, f"data-{host}")
        os.makedirs(self.data_dir, exist_ok=True)
        self.log_path = os.path.join(cluster.work, f"{host}.log")
        argv = [cluster.broker, "--node-name", host, "--listen", f"0.0.0.0:{CLIENT_PORT}",
                "--cluster-listen", f"{net.addr(host)}:{NODE_PORT}",
                "--cluster-ca", os.path.join(ca_dir, "ca.pem"),
                "--node-cert", os.path.join(ca_dir, f"{host}.pem"),
                "--node-key", os.path.join(ca_dir, f"{host}.key"),
                "--data-dir", self.data_dir, "--stats-interval", "1", *extra]
        for p in peers:
            argv += ["--peer", f"{net.addr(p)}:{NODE_PORT}"]
        with open(self.log_path, "wb") as out:
            # `ip netns exec` execs the broker: the PID is the broker's.
            self.proc = net.popen(host, argv, stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT)
        cluster.started.append(self.proc)
        if not wait_for(lambda: " listening on " in self.text() or self.proc.poll() is not None,
                        20):
            raise Failed(f"node {host} did not start listening within 20 s:\n{self.tail()}")
        if self.proc.poll() is not None:
            raise Failed(f"node {host} exited with {self.proc.returncode}:\n{self.tail()}")

    def text(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def tail(self, n: int = 25) -> str:
        return "\n".join(f"    {self.host}| {x}" for x in self.text().splitlines()[-n:])

    def counters(self) -> Dict[str, int]:
        """The latest `cluster:` stats line (--stats-interval 1), as a dict; {} before the first."""
        lines = [x for x in self.text().splitlines() if x.startswith("cluster: ")]
        if not lines:
            return {}
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])}

    def fresh_counters(self) -> Dict[str, int]:
        """Counters printed after this call (waits up to 3 s for the next stats line)."""
        before = self.text().count("\ncluster: ")
        wait_for(lambda: self.text().count("\ncluster: ") > before, 3)
        return self.counters()

    def client_args(self) -> List[str]:
        return ["-s", f"flume://127.0.0.1:{CLIENT_PORT}", "--ca",
                os.path.join(self.data_dir, "cert.pem")]


class Sub:
    """`flume sub PATTERN --format line` in a node's host; every line timestamped on arrival."""

    def __init__(self, node: Node, pattern: str, timeout_s: float = 120):
        c = node.cluster
        self.node = node
        self.lines: List[Tuple[int, str]] = []
        self.err: List[str] = []
        argv = [c.flume, "sub", *node.client_args(), "--format", "line",
                "--timeout", str(int(timeout_s * 1000)), pattern]
        self.proc = c.net.popen(node.host, argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        c.started.append(self.proc)
        self._threads = [threading.Thread(target=self._read_out, daemon=True),
                         threading.Thread(target=self._read_err, daemon=True)]
        for t in self._threads:
            t.start()
        if not wait_for(lambda: any("subscribed to" in x for x in self.err)
                        or self.proc.poll() is not None, 15):
            raise Failed(f"flume sub at {node.host} did not subscribe within 15 s: {self.err}")
        if self.proc.poll() is not None:
            raise Failed(f"flume sub at {node.host} exited: {self.err}")

    def _read_out(self):
        for raw in iter(self.proc.stdout.readline, b""):
            self.lines.append((time.time_ns(), raw.decode(errors="replace").rstrip("\n")))

    def _read_err(self):
        for raw in iter(self.proc.stderr.readline, b""):
            self.err.append(raw.decode(errors="replace").rstrip("\n"))

    def messages(self, subject: str) -> List[Tuple[int, str]]:
        """(arrival ns, payload) of every message on subject, in arrival order."""
        prefix = subject + ": "
        return [(t, x[len(prefix):]) for t, x in self.lines if x.startswith(prefix)]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


class Cluster:
    """A run of the emulator, the node certificates and the processes a case starts."""

    def __init__(self, net: netem.Net, work: str, broker: str, flume: str):
        self.net, self.work, self.broker, self.flume = net, work, broker, flume
        self.started: List[subprocess.Popen] = []
        self.nodes: Dict[str, Node] = {}
        self.args = None  # the command line's options, set by main()
        self.ca_dir = self.make_ca("ca", net.hosts)

    def make_ca(self, name: str, hosts: Sequence[str]) -> str:
        """A cluster CA in work/name and a node certificate per host (with its 10.77.0.x)."""
        d = os.path.join(self.work, name)
        subprocess.run([self.broker, "cluster", "init-ca", "--dir", d], check=True,
                       capture_output=True, timeout=30)
        for h in hosts:
            subprocess.run([self.broker, "cluster", "issue-node", h, "--dir", d,
                            "--ip", self.net.addr(h)], check=True, capture_output=True,
                           timeout=30)
        return d

    def start(self, host: str, peers: Sequence[str] = (), ca_dir: Optional[str] = None,
              extra: Sequence[str] = ()) -> Node:
        node = Node(self, host, peers, ca_dir or self.ca_dir, extra)
        self.nodes[host] = node
        return node

    def start_mesh(self, hosts: Sequence[str], extra: Sequence[str] = ()) -> None:
        """Each node lists the nodes started before it (full-mesh seeding, docs/overlay.md);
        `extra` flags go to every node."""
        for i, h in enumerate(hosts):
            self.start(h, peers=hosts[:i], extra=extra)

    def wait_linked(self, want: Dict[str, int], timeout_s: float = 20) -> None:
        """Until every node in want reports links_up == its value."""
        def done():
            return all(self.nodes[h].counters().get("links_up") == n for h, n in want.items())
        if not wait_for(done, timeout_s, 0.1):
            got = {h: self.nodes[h].counters().get("links_up") for h in want}
            raise Failed(f"links_up {got}, want {want} within {timeout_s} s\n" +
                         "\n".join(self.nodes[h].tail(10) for h in want))

    def publish(self, host: str, subject: str, lines: Sequence[str], timeout_s: float = 60):
        p = self.net.run(host, [self.flume, "pub", *self.nodes[host].client_args(), "-q",
                                subject], input="".join(x + "\n" for x in lines).encode(),
                         capture_output=True, timeout=timeout_s)
        if p.returncode != 0:
            raise Failed(f"flume pub {subject} at {host} exited {p.returncode}: "
                         f"{p.stderr.decode(errors='replace').strip()}")

    def warm_up(self, host: str, subject: str, subs: Sequence[Sub], timeout_s: float = 15):
        """Publishes on subject at host until every sub has one: the subscribers' interest has
        reached host by then (adverts travel on their own stream, ahead of nothing we can see)."""
        deadline = time.monotonic() + timeout_s
        while not all(s.messages(subject) for s in subs):
            if time.monotonic() > deadline:
                raise Failed(f"warm-up {subject} from {host} did not reach every subscriber in "
                             f"{timeout_s} s")
            self.publish(host, subject, ["warm"])
            wait_for(lambda: all(s.messages(subject) for s in subs), 0.3)

    def stop(self) -> None:
        """Ends every process this case started, by PID (the run's teardown would kill any
        left in the namespaces anyway)."""
        for p in reversed(self.started):
            if p.poll() is None:
                p.terminate()
        for p in reversed(self.started):
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)


class PacedPublisher:
    """`flume pub SUBJECT` fed one line every interval: "<publisher> <seq> <sent ns>"."""

    def __init__(self, cluster: Cluster, host: str, subject: str, count: int, interval_s: float,
                 subs: Sequence[Sub] = ()):
        self.name = f"{host}:{subject}"
        self.subject, self.subs = subject, list(subs)
        argv = [cluster.flume, "pub", *cluster.nodes[host].client_args(), "-q", subject]
        self.proc = cluster.net.popen(host, argv, stdin=subprocess.PIPE,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        cluster.started.append(self.proc)
        self.count, self.interval_s = count, interval_s
        self.sent_ns: List[int] = []  # when each timed line went to `flume pub`, by sequence
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._feed, daemon=True)
        self.thread.start()

    def _warm_count(self) -> List[int]:
        return [sum(1 for _, p in s.messages(self.subject) if p == "warm") for s in self.subs]

    def _feed(self):
        try:
            # One "warm" line first, and the timed lines only once it arrived everywhere: `flume
            # pub` connects before it reads its input, and that wait is not the overlay's latency.
            before = self._warm_count()
            self.proc.stdin.write(b"warm\n")
            self.proc.stdin.flush()
            wait_for(lambda: all(n > b for n, b in zip(self._warm_count(), before)), 15)
            start = time.monotonic()
            for i in range(self.count):
                delay = start + i * self.interval_s - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    break
                if self._stop.is_set():
                    break
                now = time.time_ns()
                self.proc.stdin.write(f"{self.name} {i} {now}\n".encode())
                self.proc.stdin.flush()
                self.sent_ns.append(now)
            self.proc.stdin.close()
        except (BrokenPipeError, ValueError):
            pass

    def stop(self) -> int:
        """Ends the feed early (a case that runs until its events are done); returns how many
        timed lines were sent."""
        self._stop.set()
        self.thread.join(10)
        return len(self.sent_ns)

    def finish(self, timeout_s: float = 60) -> None:
        self.thread.join(timeout_s)
        try:
            rc = self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise Failed(f"publisher {self.name} still runs after {timeout_s} s")
        if rc != 0:
            raise Failed(f"publisher {self.name} exited {rc}: "
                         f"{self.proc.stderr.read().decode(errors='replace').strip()}")


def check_complete(sub: Sub, subject: str, publisher: str, count: int) -> List[int]:
    """The subscriber got <publisher> 0..count-1 on subject exactly once and in order; returns
    the one-way latencies in µs (arrival - sent, same clock: all namespaces share it)."""
    got = [p for _, p in sub.messages(subject) if p != "warm"]
    seqs = [int(p.split()[1]) for p in got if p.split()[0] == publisher]
    if seqs != list(range(count)):
        missing = sorted(set(range(count)) - set(seqs))
        dups = len(seqs) - len(set(seqs))
        raise Failed(f"{sub.node.host} on {subject} from {publisher}: {len(seqs)} messages, want "
                     f"{count} in order; missing {missing[:10]}{'...' if len(missing) > 10 else ''}"
                     f", duplicates {dups}, in order {seqs == sorted(seqs)}")
    return [(t - int(p.split()[2])) // 1000 for t, p in sub.messages(subject)
            if p != "warm" and p.split()[0] == publisher]


def wait_received(subs_counts, timeout_s: float = 30) -> None:
    """Until each (sub, subject, n) has n non-warm messages."""
    def done():
        return all(sum(1 for _, p in s.messages(subj) if p != "warm") >= n
                   for s, subj, n in subs_counts)
    wait_for(done, timeout_s, 0.1)


def lat_summary(us: Sequence[int]) -> str:
    return (f"n={len(us)} p50 {percentile(us, 50) / 1000:.2f} ms p99 "
            f"{percentile(us, 99) / 1000:.2f} ms max {max(us) / 1000:.2f} ms")


# ---------------------------------------------------------------------------------------------
# Cases


def case_three(c: Cluster) -> None:
    c.start_mesh(["a", "b", "c"])
    c.wait_linked({"a": 2, "b": 2, "c": 2})
    subs = [Sub(c.nodes["b"], "t.>"), Sub(c.nodes["c"], "t.>")]
    c.warm_up("a", "t.one", subs)
    n = 300
    pubs = [PacedPublisher(c, "a", "t.one", n, 0.002, subs),
            PacedPublisher(c, "a", "t.two", n, 0.002, subs)]
    for p in pubs:
        p.finish()
    wait_received([(s, subj, n) for s in subs for subj in ("t.one", "t.two")])
    for s in subs:
        for p, subj in zip(pubs, ("t.one", "t.two")):
            lat = check_complete(s, subj, p.name, n)
            log(f"  {s.node.host} {subj}: {n} once, in order; latency {lat_summary(lat)}")


def case_five(c: Cluster) -> None:
    hosts = ["a", "b", "c", "d", "e"]
    c.start_mesh(hosts)
    c.wait_linked({h: 4 for h in hosts}, 30)
    subs = [Sub(c.nodes["c"], "t.>"), Sub(c.nodes["e"], "t.>")]
    other = Sub(c.nodes["d"], "other.>")  # d wants something nobody publishes
    c.warm_up("a", "t.a", subs)
    c.warm_up("b", "t.b", subs)
    quiet = {h: c.nodes[h].fresh_counters() for h in ("b", "d")}
    n = 300
    pubs = [PacedPublisher(c, "a", "t.a", n, 0.002, subs),
            PacedPublisher(c, "b", "t.b", n, 0.002, subs)]
    for p in pubs:
        p.finish()
    wait_received([(s, subj, n) for s in subs for subj in ("t.a", "t.b")])
    for s in subs:
        for p, subj in zip(pubs, ("t.a", "t.b")):
            lat = check_complete(s, subj, p.name, n)
            log(f"  {s.node.host} {subj}: {n} once, in order; latency {lat_summary(lat)}")
    if other.lines:
        raise Failed(f"d's subscriber to other.> got {other.lines[:3]}")
    for h in ("b", "d"):
        after = c.nodes[h].fresh_counters()
        log(f"  {h} (no interest in t.>): cluster counters before {quiet[h]}, after {after}")
        for k in ("received", "delivered"):
            if after.get(k) is None or after[k] != quiet[h].get(k) or after[k] != 0:
                raise Failed(f"{h} has no subscriber to t.> but its cluster {k} is "
                             f"{quiet[h].get(k)} -> {after.get(k)}, want 0")
    for h in ("a", "b"):
        fwd = c.nodes[h].fresh_counters().get("forwarded", 0)
        # Each message goes to c and e only: 2 copies (plus the warm-ups).
        if not 2 * n <= fwd <= 2 * n + 100:
            raise Failed(f"{h} forwarded {fwd}, want about {2 * n} (to c and e only)")


def case_join(c: Cluster) -> None:
    c.start_mesh(["a", "b"])
    c.wait_linked({"a": 1, "b": 1})
    sub_b = Sub(c.nodes["b"], "t.>")
    c.warm_up("a", "t.x", [sub_b])
    t0 = time.monotonic()
    c.start("c", peers=["a", "b"])
    c.wait_linked({"a": 2, "b": 2, "c": 2})
    log(f"  c joined: linked with a and b {time.monotonic() - t0:.2f} s after its start")
    sub_c = Sub(c.nodes["c"], "t.>")
    c.warm_up("a", "t.x", [sub_b, sub_c])
    n = 200
    p = PacedPublisher(c, "a", "t.x", n, 0.002, [sub_b, sub_c])
    p.finish()
    wait_received([(s, "t.x", n) for s in (sub_b, sub_c)])
    for s in (sub_b, sub_c):
        lat = check_complete(s, "t.x", p.name, n)
        log(f"  {s.node.host}: {n} once, in order; latency {lat_summary(lat)}")


def logged_link_closed(node: Node, peer: str) -> bool:
    """Whether the node logged its link with peer closed ("overlay: link with b (...) closed")."""
    return bool(re.search(rf"link with {peer} \(.*\) closed", node.text()))


def case_kill(c: Cluster) -> None:
    # b dialled a (a is the listener side of a-b); c dialled b (c is the dialer side of b-c).
    c.start_mesh(["a", "b", "c"])
    c.wait_linked({"a": 2, "b": 2, "c": 2})
    sub_c = Sub(c.nodes["c"], "t.>")
    c.warm_up("a", "t.x", [sub_c])
    n, interval = 600, 0.01  # 6 s of traffic a -> c; b dies after 2 s
    p = PacedPublisher(c, "a", "t.x", n, interval, [sub_c])
    time.sleep(2.0)
    b = c.nodes["b"]
    killed_at = time.monotonic()
    os.kill(b.proc.pid, signal.SIGKILL)
    b.proc.wait(timeout=5)
    kill_ns = time.time_ns()
    detected: Dict[str, Optional[float]] = {"a": None, "c": None}
    bound = 2.0
    deadline = killed_at + bound + 0.5
    while time.monotonic() < deadline and None in detected.values():
        for h in detected:
            if detected[h] is None and logged_link_closed(c.nodes[h], "b"):
                detected[h] = time.monotonic() - killed_at
        time.sleep(0.02)
    p.finish()
    wait_received([(sub_c, "t.x", n)])
    lat = check_complete(sub_c, "t.x", p.name, n)
    after = [us for (t, pl), us in zip([m for m in sub_c.messages("t.x") if m[1] != "warm"], lat)
             if t > kill_ns]
    log(f"  c kept receiving from a: {n} once, in order; latency {lat_summary(lat)}; after the "
        f"kill {lat_summary(after) if after else 'none'}")
    if after and max(after) > 500_000:
        raise Failed(f"a -> c was disturbed by b's death: max latency {max(after) / 1000:.1f} ms")
    for h, side in (("a", "listener"), ("c", "dialer")):
        t = detected[h]
        log(f"  {h} ({side} side of its link with b) reported it down "
            + (f"{t:.2f} s after SIGKILL" if t is not None else f"not within {bound:.0f} s"))
    late = {h: t for h, t in detected.items() if t is None or t > 2.0}
    if late:
        raise Failed(f"link down not reported within 2 s by {late}")


def case_foreign_ca(c: Cluster) -> None:
    other = c.make_ca("other-ca", ["c"])
    c.start_mesh(["a", "b"])
    c.wait_linked({"a": 1, "b": 1})
    c.start("c", peers=["a", "b"], ca_dir=other)
    time.sleep(3.0)  # c dials (and redials every second); each attempt must fail
    counters = {h: c.nodes[h].fresh_counters() for h in ("a", "b", "c")}
    log(f"  counters: {counters}")
    if counters["c"].get("links_up") != 0:
        raise Failed(f"c (other CA) has links_up={counters['c'].get('links_up')}, want 0")
    for h in ("a", "b"):
        if counters[h].get("links_up") != 1:
            raise Failed(f"{h} has links_up={counters[h].get('links_up')}, want 1 (its peer only)")
        if counters[h].get("handshakes_failed", 0) < 1:
            raise Failed(f"{h} counted no failed handshake from c")
    if counters["c"].get("handshakes_failed", 0) < 2:
        raise Failed("c counted fewer than 2 failed handshakes in 3 s of redialling")
    if re.search(r"link with \S+ \(.*\) up", c.nodes["c"].text()):
        raise Failed("c logged a link up")


def case_loss(c: Cluster) -> None:
    c.start_mesh(["a", "b", "c"])
    c.wait_linked({"a": 2, "b": 2, "c": 2})
    sub = Sub(c.nodes["c"], "t.>")
    c.warm_up("a", "t.lossy", [sub])
    c.warm_up("b", "t.clean", [sub])
    c.net.set("a", "c", both=True, loss="10%")
    n, interval = 800, 0.005  # 4 s each, side by side
    pubs = [PacedPublisher(c, "a", "t.lossy", n, interval, [sub]),
            PacedPublisher(c, "b", "t.clean", n, interval, [sub])]
    for p in pubs:
        p.finish()
    wait_received([(sub, "t.lossy", n), (sub, "t.clean", n)])
    lossy = check_complete(sub, "t.lossy", pubs[0].name, n)
    clean = check_complete(sub, "t.clean", pubs[1].name, n)
    dropped = sum(r.get("lost", 0) or 0 for r in c.net.stats()
                  if (r.get("src"), r.get("dst")) in (("a", "c"), ("c", "a")))
    log(f"  every link {LOSS_DELAY} one way; 10% loss a<->c (packets lost there: {dropped})")
    log(f"  t.lossy a -> c: {lat_summary(lossy)}")
    log(f"  t.clean b -> c: {lat_summary(clean)}")
    if dropped < 20:
        raise Failed(f"the emulator lost only {dropped} packets on a<->c")
    # A lost packet costs at least one more round trip (2 x delay) before it is repaired; the
    # clean subject shares c, its subscriber and its lanes' machinery, but not the lossy link.
    rtt_us = 2 * netem.parse_duration_ns(LOSS_DELAY) // 1000
    p99_lossy, p99_clean = percentile(lossy, 99), percentile(clean, 99)
    p50_clean = percentile(clean, 50)
    if not p99_lossy > p99_clean + rtt_us:
        raise Failed(f"p99 through the lossy link {p99_lossy / 1000:.2f} ms is not one round "
                     f"trip above the clean one {p99_clean / 1000:.2f} ms")
    if p99_clean > p50_clean + rtt_us:
        raise Failed(f"the subject on the clean link has p99 {p99_clean / 1000:.2f} ms, more than "
                     f"a round trip above its p50 {p50_clean / 1000:.2f} ms: the loss on a<->c "
                     "delayed it")


def case_relay(c: Cluster) -> None:
    c.net.set("a", "c", both=True, block=True)
    c.start_mesh(["a", "b", "c"])
    c.wait_linked({"a": 1, "b": 2, "c": 1}, 30)
    sub = Sub(c.nodes["c"], "t.>")
    c.warm_up("a", "t.r", [sub], timeout_s=30)
    n = 200
    p = PacedPublisher(c, "a", "t.r", n, 0.002, [sub])
    p.finish()
    wait_received([(sub, "t.r", n)])
    lat = check_complete(sub, "t.r", p.name, n)
    log(f"  c got a's {n} messages through b, once, in order; latency {lat_summary(lat)}")
    if re.search(r"link with a \(.*\) up", c.nodes["c"].text()):
        raise Failed("c logged a direct link with a, which the emulator blocks")


ABC = ["a", "b", "c"]
# case: (hosts, function, emulator settings). nft mode (kernel veth, no delay) unless the case
# needs a delay: loss recovery costs round trips, and on a 0.1 ms veth those are too short to see.
CASES = {
    "three_nodes_deliver_once_in_order": (ABC, case_three, {"mode": "nft"}),
    "five_nodes_deliver_only_where_wanted": (["a", "b", "c", "d", "e"], case_five,
                                             {"mode": "nft"}),
    "joining_node_receives": (ABC, case_join, {"mode": "nft"}),
    "killed_node_survivors_keep_delivering": (ABC, case_kill, {"mode": "nft"}),
    "foreign_ca_node_is_refused": (ABC, case_foreign_ca, {"mode": "nft"}),
    "loss_on_one_link_delays_only_its_subjects": (ABC, case_loss,
                                                  {"mode": "tun", "delay": LOSS_DELAY}),
    "relay_reaches_node_without_direct_link": (ABC, case_relay, {"mode": "nft"}),
}


def main(argv=None, cases=None, description=None, add_arguments=None) -> int:
    """Runs one case of `cases` (default: this file's) from the command line; test_routes.py
    uses it with its own cases and options (add_arguments(parser); the case finds the parsed
    options in cluster.args)."""
    cases = cases or CASES
    ap = argparse.ArgumentParser(description=description or __doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case", choices=sorted(cases))
    ap.add_argument("--broker", required=True, help="flume-broker")
    ap.add_argument("--flume", required=True, help="flume (the CLI)")
    ap.add_argument("--emulator", help="flume-netem (default $FLUME_NETEM_BIN or build/*)")
    ap.add_argument("--keep", action="store_true", help="keep the logs and certificates")
    if add_arguments:
        add_arguments(ap)
    a = ap.parse_args(argv)
    hosts, fn, settings = cases[a.case]
    try:
        netem.check_environment(settings["mode"])
    except netem.Unavailable as e:
        log(f"skipped: {e}")
        return SKIP
    work = tempfile.mkdtemp(prefix="flume-netem-cluster-")
    cluster = None
    try:
        with netem.Net.up(name=f"cl{os.getpid()}", hosts=hosts, emulator=a.emulator,
                          lifetime_s=300, seed=13, **settings) as net:
            log(f"{a.case}: run {net.name}, hosts "
                + ", ".join(f"{h} {net.addr(h)}" for h in hosts))
            cluster = Cluster(net, work, a.broker, a.flume)
            cluster.args = a
            try:
                t0 = time.monotonic()
                fn(cluster)
                log(f"PASS {a.case} ({time.monotonic() - t0:.1f} s)")
                return 0
            except Failed as e:
                log(f"FAIL {a.case}: {e}")
                for node in cluster.nodes.values():
                    log(node.tail())
                return 1
            finally:
                cluster.stop()
    except netem.Unavailable as e:
        log(f"skipped: {e}")
        return SKIP
    finally:
        if a.keep:
            log(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
