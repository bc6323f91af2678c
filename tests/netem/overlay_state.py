"""A node's overlay state document (`flume overlay --json`, docs/overlay.md) read from inside the
emulator: its next hop towards each node and its route changes. Used by test_routes.py and the
overlay benchmarks (tests/bench/overlay)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from typing import Dict, List, Optional, Tuple

OPS = "ops"  # the certificate `flume overlay` presents: any name the cluster CA issued


def ops_credentials(cluster) -> List[str]:
    """--cluster-ca/--cert/--key for `flume overlay`, issued once per cluster by its CA."""
    d = cluster.ca_dir
    pem = os.path.join(d, f"{OPS}.pem")
    if not os.path.exists(pem):
        subprocess.run([cluster.broker, "cluster", "issue-node", OPS, "--dir", d], check=True,
                       capture_output=True, timeout=30)
    return ["--cluster-ca", os.path.join(d, "ca.pem"), "--cert", pem,
            "--key", os.path.join(d, f"{OPS}.key")]


def state(cluster, host: str, timeout_s: float = 10) -> Optional[dict]:
    """The node's state document, asked from inside its own host; None when it did not answer."""
    node_port = 7338
    argv = [cluster.flume, "overlay", *ops_credentials(cluster), "--json",
            f"{cluster.net.addr(host)}:{node_port}"]
    try:
        p = cluster.net.run(host, argv, capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None
    if p.returncode != 0:
        return None
    try:
        docs = json.loads(p.stdout)
    except ValueError:
        return None
    return docs[0] if isinstance(docs, list) and docs else None


def next_hops(doc: Optional[dict]) -> Dict[str, Optional[str]]:
    """Destination node -> next hop (None: no route) from a state document."""
    out: Dict[str, Optional[str]] = {}
    for n in (doc or {}).get("nodes", []):
        hop = n.get("next_hop")
        if isinstance(hop, dict):  # a route object rather than the name alone
            hop = hop.get("name") or hop.get("node")
        out[n.get("name")] = hop
    return out


def route_info(doc: Optional[dict], dest: str) -> dict:
    """The document's entry for dest (next hop, path and costs where the node reports them)."""
    return next((n for n in (doc or {}).get("nodes", []) if n.get("name") == dest), {})


def route_changes(doc: Optional[dict]) -> Optional[List[dict]]:
    """The node's recent route changes (newest last) as the document lists them, or None when
    this node's document has no such list (a build before routing by measured cost)."""
    for key in ("route_changes", "routes_changed", "changes"):
        v = (doc or {}).get(key)
        if isinstance(v, list):
            return v
        if isinstance(v, dict) and isinstance(v.get("recent"), list):
            return v["recent"]
    return None


def change_time_ms(change: dict) -> Optional[int]:
    for key in ("at_ms", "time_ms", "unix_ms", "timestamp_ms", "at", "time"):
        if isinstance(change.get(key), (int, float)):
            return int(change[key])
    return None


def change_destination(change: dict) -> Optional[str]:
    for key in ("destination", "dest", "node", "to_node"):
        if isinstance(change.get(key), str):
            return change[key]
    return None


class NextHopPoller:
    """Asks one node for its state every period_s in a thread and records (unix ns, next hops)
    whenever they differ from the last answer: the route changes as seen from outside, for builds
    whose state document lists none, and a cross-check of those that do."""

    def __init__(self, cluster, host: str, period_s: float = 0.25):
        self.cluster, self.host, self.period_s = cluster, host, period_s
        self.history: List[Tuple[int, Dict[str, Optional[str]]]] = []
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            t0 = time.monotonic()
            hops = next_hops(state(self.cluster, self.host, timeout_s=5))
            self.polls += 1
            if hops and (not self.history or self.history[-1][1] != hops):
                self.history.append((time.time_ns(), hops))
            self._stop.wait(max(0.0, self.period_s - (time.monotonic() - t0)))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)

    def changes(self, dest: str, since_ns: int, until_ns: int) -> List[Tuple[int, str, str]]:
        """(unix ns, old, new) next hops towards dest first seen within [since_ns, until_ns]."""
        out = []
        prev = None
        for t, hops in self.history:
            hop = hops.get(dest)
            if prev is not None and hop != prev and since_ns <= t <= until_ns:
                out.append((t, prev, hop))
            prev = hop
        return out
