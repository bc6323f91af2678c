#!/usr/bin/env python3
"""Routing by measured latency (issue 14, docs/overlay.md "Routes") in the network emulator: five
flume-broker nodes a..e, each in its own namespace (tun mode, so every direction has its own
delay), a full mesh of real QUIC/HTTP/3 node links; `flume pub` at a and `flume sub` at c, one
message every 10 ms carrying "<publisher> <seq> <sent ns>", so every message gives its one-way
latency (all namespaces share the clock). The delays change at run time and the checks are on
the latencies measured, with margins:

  relay_beats_slow_direct_link          first all delays 0 (the baseline: what the brokers and
                                        clients add), then a<->c 80 ms one way, a<->b and b<->c
                                        20 ms, every other pair 70 ms: c's p50 is 40 ms (+-10%)
                                        plus the baseline, not 80
  slowed_relay_link_left_within_2s      then b<->c 100 ms: the latency is back near 80 ms (direct)
                                        within 2 s of the change; then 80 ms +-10% plus the baseline
  blocked_link_bypassed_within_1s       then a<->c blocked both ways, silently (a firewall): every
                                        message waits at most 1 s more than the path via b (120 ms)
                                        takes; none published after the switch lost; in order
  flapping_link_keeps_routes            a<->c 50 ms, a<->b 10 ms, b<->c alternating 20/60 ms
                                        every 300 ms for 10 s: a's route towards c changes at
                                        most twice; every message arrives once, in order

The first three are one timeline (each case checks its own last event and logs the earlier
ones); `--csv FILE` writes it (every message: sent time, sequence, latency or empty when lost;
every event) for tests/bench/overlay/plot_routes.py.

  test_routes.py CASE --broker FLUME-BROKER --flume FLUME [--emulator FLUME-NETEM] [--csv FILE]

Exit 77 (ctest SKIP_RETURN_CODE) when this machine cannot create namespaces or TUN devices.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
from typing import Callable, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import overlay_state  # noqa: E402
import test_cluster as tc  # noqa: E402
from test_cluster import Failed, log, percentile  # noqa: E402

HOSTS = ["a", "b", "c", "d", "e"]
SUBJECT = "r.x"
INTERVAL_S = 0.01
# One way between every pair the case does not name: a path through d or e (140 ms) is never
# the best, so each event has one best path (via b 40 ms, direct 80 ms, via b 120 ms).
OTHER_MS = 70
MARGIN = 0.10  # issue 14: "within 10% of the best path plus the no-delay baseline"
ROUTE_WAIT_S = 10  # how long the relay phase waits for a to route c via b before it measures
RISE_BOUND_S = 2.0  # issue 14: a link whose latency rises is left within 2 s
RUN = 20  # messages (200 ms): the rise is judged on the median of this many in a row
BLOCK_BOUND_S = 1.0  # issue 14: a blocked link is noticed and routed around within 1 s


def ms(us: float) -> str:
    return f"{us / 1000:.1f} ms"


class Timeline:
    """The five nodes, the subscriber at c and the paced publisher at a, and the events the case
    drives; the analysis runs on the recorded sent and arrival times once the publisher stopped."""

    def __init__(self, c: tc.Cluster):
        self.c = c
        c.start_mesh(HOSTS)
        c.wait_linked({h: len(HOSTS) - 1 for h in HOSTS}, 30)
        self.sub = tc.Sub(c.nodes["c"], "r.>")
        c.warm_up("a", SUBJECT, [self.sub], timeout_s=30)
        self.pub = tc.PacedPublisher(c, "a", SUBJECT, 1_000_000, INTERVAL_S, [self.sub])
        if not tc.wait_for(lambda: self.pub.sent_ns, 20):
            raise Failed("the publisher at a did not start within 20 s")
        self.t0 = self.pub.sent_ns[0]
        self.events: List[Tuple[int, str]] = []
        self.arrival: Dict[int, int] = {}
        self.order: List[int] = []

    def event(self, label: str) -> int:
        now = time.time_ns()
        self.events.append((now, label))
        log(f"  t={(now - self.t0) / 1e9:6.2f} s  {label}")
        return now

    def set_delays(self, pairs: Dict[Tuple[str, str], int]) -> None:
        """One-way delays in ms, both directions; pairs not named get OTHER_MS."""
        for i, s in enumerate(HOSTS):
            for d in HOSTS[i + 1:]:
                v = pairs.get((s, d), pairs.get((d, s), OTHER_MS))
                self.c.net.set(s, d, both=True, delay=f"{v}ms")

    def next_hop(self, src: str, dest: str) -> Optional[str]:
        return overlay_state.next_hops(overlay_state.state(self.c, src)).get(dest)

    def wait_next_hop(self, src: str, dest: str, want: str, timeout_s: float) -> Optional[float]:
        """Seconds until src routes dest via want (None: not within timeout_s)."""
        t0 = time.monotonic()
        if tc.wait_for(lambda: self.next_hop(src, dest) == want, timeout_s, 0.2):
            return time.monotonic() - t0
        return None

    def finish(self) -> None:
        """Stops the publisher; waits until the subscriber has every message that can still come
        (lost ones never will: the wait is bounded)."""
        n = self.pub.stop()
        self.pub.finish()
        tc.wait_for(lambda: len(self.received()) >= n, 5, 0.1)
        time.sleep(0.5)  # anything the reorder window still held
        self.collect()
        self.write_csv()

    def collect(self) -> None:
        """Arrival time per sequence number and the order of arrival, from what c got so far."""
        self.arrival, self.order = {}, []
        for t, payload in self.sub.messages(SUBJECT):
            parts = payload.split()
            if payload == "warm" or len(parts) != 3 or parts[0] != self.pub.name:
                continue
            seq = int(parts[1])
            self.order.append(seq)
            self.arrival.setdefault(seq, t)

    def received(self) -> List[str]:
        return [p for _, p in self.sub.messages(SUBJECT) if p != "warm"]

    def window(self, since_ns: int, until_ns: int) -> List[Tuple[int, int, Optional[int]]]:
        """(seq, sent ns, latency µs or None when lost) for every message sent in the window."""
        self.collect()
        return [(seq, sent, (self.arrival[seq] - sent) // 1000 if seq in self.arrival else None)
                for seq, sent in enumerate(self.pub.sent_ns) if since_ns <= sent < until_ns]

    def p50(self, since_ns: int, until_ns: int) -> float:
        lat = [x for _, _, x in self.window(since_ns, until_ns) if x is not None]
        if not lat:
            raise Failed(f"no message sent between t={(since_ns - self.t0) / 1e9:.2f} s and "
                         f"{(until_ns - self.t0) / 1e9:.2f} s arrived")
        return percentile(lat, 50)

    def check_order(self) -> None:
        dups = len(self.order) - len(set(self.order))
        backwards = [(a, b) for a, b in zip(self.order, self.order[1:]) if b <= a]
        if dups or backwards:
            raise Failed(f"c got {dups} duplicates and {len(backwards)} messages out of order "
                         f"(first: {backwards[:5]})")

    def check_complete(self) -> None:
        missing = [s for s in range(len(self.pub.sent_ns)) if s not in self.arrival]
        if missing:
            raise Failed(f"{len(missing)} of {len(self.pub.sent_ns)} messages lost: "
                         f"{missing[:10]}")

    def write_csv(self) -> None:
        path = getattr(self.c.args, "csv", None)
        if not path:
            return
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["kind", "t_ms", "seq", "latency_ms", "label"])
            for t, label in self.events:
                w.writerow(["event", f"{(t - self.t0) / 1e6:.1f}", "", "", label])
            for seq, sent, lat in self.window(0, 1 << 63):
                w.writerow(["msg", f"{(sent - self.t0) / 1e6:.1f}", seq,
                            "" if lat is None else f"{lat / 1000:.2f}", ""])
        log(f"  wrote {path}")


# The phases of the timeline. Each drives its event while the publisher runs and returns a
# function that checks it on the recorded times once every message that can arrive has arrived.
# `check` says whether its bound fails the case (earlier phases of a later case are logged only:
# their own case checks them).

Check = Callable[[], List[str]]


def within(p50: float, path_us: int, base: float) -> bool:
    return (1 - MARGIN) * path_us + base <= p50 <= (1 + MARGIN) * path_us + base


def phase_baseline(t: Timeline) -> Callable[[], float]:
    start = t.event("all delays 0 ms: the baseline")
    time.sleep(2.0)
    end = time.time_ns()
    return lambda: t.p50(start + 200_000_000, end)


def phase_relay(t: Timeline, base: Callable[[], float], check: bool) -> Check:
    t.set_delays({("a", "c"): 80, ("a", "b"): 20, ("b", "c"): 20})
    t.event("a<->c 80 ms, a<->b 20 ms, b<->c 20 ms, others 70 ms")
    took = t.wait_next_hop("a", "c", "b", ROUTE_WAIT_S)
    hop = t.next_hop("a", "c")
    log(f"    a routes c via b {'after %.2f s' % took if took is not None else 'never'}"
        f" (waited up to {ROUTE_WAIT_S} s)")
    settle = time.time_ns()
    time.sleep(2.0)
    end = time.time_ns()

    def evaluate() -> List[str]:
        p50, b = t.p50(settle + 300_000_000, end), base()
        log(f"  relay: p50 {ms(p50)}; want {ms(40_000 + b)} +-{MARGIN:.0%} of 40 ms (direct "
            f"would be {ms(80_000 + b)})")
        # Without the relay the later events test nothing (the rise would leave a path never
        # taken): so every case needs it.
        errors = []
        if took is None:
            errors.append(f"a still routes c via {hop} {ROUTE_WAIT_S} s after a->c became 80 ms "
                          "and a->b->c 40 ms")
        if check and not within(p50, 40_000, b):
            errors.append(f"p50 through the relay {ms(p50)}, want {ms(40_000 + b)} "
                          f"+-{MARGIN:.0%} of 40 ms")
        return errors
    return evaluate


def phase_rise(t: Timeline, base: Callable[[], float], check: bool) -> Check:
    start = t.event("b<->c 100 ms")
    t.c.net.set("b", "c", both=True, delay="100ms")
    time.sleep(RISE_BOUND_S + 2.0)
    end = time.time_ns()

    def evaluate() -> List[str]:
        b = base()
        near = (1 + MARGIN) * 80_000 + b
        # Back near 80 ms: the first message sent after the rise from which RUN messages in a
        # row have their median within the bound. A median and not every message: a single
        # late packet (and the few the reorder window holds behind it) is noise on a busy
        # machine, not the route; what follows is checked by the p50 below.
        win = t.window(start, end)
        back = next((sent for i, (_, sent, _) in enumerate(win[:len(win) - RUN + 1])
                     if percentile([math.inf if lat is None else lat
                                    for _, _, lat in win[i:i + RUN]], 50) <= near), None)
        left_s = (back - start) / 1e9 if back is not None else math.inf
        p50 = t.p50(start + int((RISE_BOUND_S + 0.5) * 1e9), end)
        log(f"  rise: back below {ms(near)} (median of {RUN} messages in a row) from a "
            f"message sent {left_s:.2f} s after the rise; then p50 {ms(p50)} (want "
            f"{ms(80_000 + b)} +-{MARGIN:.0%})")
        errors = []
        if left_s > RISE_BOUND_S:
            errors.append(f"the latency came back below {ms(near)} (median of {RUN} messages "
                          f"in a row) only {left_s:.2f} s after b<->c rose to 100 ms: the slow "
                          f"relay was not left within {RISE_BOUND_S} s")
        if not within(p50, 80_000, b):
            errors.append(f"p50 after the rise {ms(p50)}, want {ms(80_000 + b)} "
                          f"+-{MARGIN:.0%}")
        return errors if check else []
    return evaluate


def phase_block(t: Timeline, base: Callable[[], float], check: bool) -> Check:
    poller = overlay_state.NextHopPoller(t.c, "a", period_s=0.1)
    time.sleep(0.3)
    start = t.event("a<->c blocked both ways")
    t.c.net.set("a", "c", both=True, block=True)
    time.sleep(BLOCK_BOUND_S + 2.0)
    end = time.time_ns()
    poller.stop()
    doc = overlay_state.state(t.c, "a")

    def evaluate() -> List[str]:
        b = base()
        via_b = 120_000 + b  # a->b 20 ms + b->c 100 ms
        # When a moved c's route off the blocked link: its own record if it keeps one, else the
        # first poll that saw another next hop (0.1 s apart, plus the time an answer takes).
        listed = [overlay_state.change_time_ms(x) for x in overlay_state.route_changes(doc) or []
                  if overlay_state.change_destination(x) == "c"]
        listed = [x * 1_000_000 for x in listed if x is not None and x * 1_000_000 >= start]
        polled = [x for x, _, _ in poller.changes("c", start, end)]
        switch = min(listed or polled or [None], key=lambda x: x or 0)
        win = t.window(start - 200_000_000, end)
        # Delivery resumed: the first message sent after the block to arrive, less the path via
        # b it took.
        after = [t.arrival[seq] for seq, sent, lat in win if lat is not None and sent >= start]
        resumed_s = ((min(after) - start) / 1000 - via_b) / 1e6 if after else float("inf")
        lost = [(seq, sent) for seq, sent, lat in win if lat is None]
        lost_after = [seq for seq, sent in lost if switch is not None and sent >= switch]
        p50 = t.p50(start + int((BLOCK_BOUND_S + 0.5) * 1e9), end)
        switch_s = (switch - start) / 1e9 if switch is not None else None
        log(f"  block: a's route towards c moved "
            + (f"{switch_s:.2f} s after the block ({'its record' if listed else 'polled'})"
               if switch_s is not None else "never (seen)")
            + f"; delivery resumed {max(0.0, resumed_s):.3f} s after it (beyond the path via b);"
            f" lost {len(lost)}, {len(lost_after)} of them published after the switch; then p50 "
            f"{ms(p50)} (the path via b: {ms(via_b)})")
        errors = []
        if switch_s is None or switch_s > BLOCK_BOUND_S:
            errors.append(f"a's route towards c did not leave the blocked link within "
                          f"{BLOCK_BOUND_S} s")
        if resumed_s > BLOCK_BOUND_S:
            errors.append(f"c received nothing published after the block for {resumed_s:.2f} s "
                          f"beyond the path via b, want at most {BLOCK_BOUND_S} s")
        if lost_after:
            errors.append(f"{len(lost_after)} messages published after the switch were lost: "
                          f"{lost_after[:10]}")
        # The p50 after the block is logged, not checked: issue 14 asks for the switch, the
        # losses and the order here, and the relay's steady latency is checked by the first case.
        return errors if check else []
    return evaluate


def log_route_changes(doc: Optional[dict], dest: str) -> None:
    """What the node's state document says of its route towards dest (when it keeps a record)."""
    for x in overlay_state.route_changes(doc) or []:
        if overlay_state.change_destination(x) == dest:
            log(f"  a's route change: {x}")


def run_timeline(c: tc.Cluster, last: str) -> None:
    """The phases up to `last`, which alone is checked; order (and, but for the block,
    completeness) always."""
    t = Timeline(c)
    checks: List[Check] = []
    try:
        base = phase_baseline(t)
        checks.append(phase_relay(t, base, last == "relay"))
        if last in ("rise", "block"):
            checks.append(phase_rise(t, base, last == "rise"))
        if last == "block":
            checks.append(phase_block(t, base, True))
        log_route_changes(overlay_state.state(c, "a"), "c")
    finally:
        t.finish()
    log(f"  baseline p50 {ms(base())} (brokers, clients and the emulator, no delay); c got "
        f"{len(t.arrival)} of {len(t.pub.sent_ns)} messages")
    errors = [e for check in checks for e in check()]
    t.check_order()
    if last != "block":
        t.check_complete()
    if errors:
        raise Failed("; ".join(errors))


def case_relay(c: tc.Cluster) -> None:
    run_timeline(c, "relay")


def case_rise(c: tc.Cluster) -> None:
    run_timeline(c, "rise")


def case_block(c: tc.Cluster) -> None:
    run_timeline(c, "block")


FLAP_S = 10.0
FLAP_PERIOD_S = 0.3
FLAP_MS = (60, 20)
FLAP_MAX_CHANGES = 2


def case_flap(c: tc.Cluster) -> None:
    t = Timeline(c)
    poller = None
    try:
        took = t.wait_next_hop("a", "c", "b", ROUTE_WAIT_S)
        log(f"  a routes c via b (30 ms against 50 direct) "
            f"{'after %.2f s' % took if took is not None else 'never'}")
        if took is None:  # then the flapping link carries nothing a would route over
            raise Failed(f"a does not route c via b (30 ms) instead of direct (50 ms) within "
                         f"{ROUTE_WAIT_S} s")
        poller = overlay_state.NextHopPoller(c, "a")
        start = t.event(f"b<->c alternates {FLAP_MS[0]}/{FLAP_MS[1]} ms every "
                        f"{FLAP_PERIOD_S * 1000:.0f} ms for {FLAP_S:.0f} s")
        t0 = time.monotonic()
        for i in range(int(FLAP_S / FLAP_PERIOD_S)):
            delay = t0 + i * FLAP_PERIOD_S - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            c.net.set("b", "c", both=True, delay=f"{FLAP_MS[i % 2]}ms")
        time.sleep(max(0.0, t0 + FLAP_S - time.monotonic()))
        end = t.event("flapping ends")
        poller.stop()
        doc = overlay_state.state(c, "a")
    finally:
        if poller:
            poller.stop()
        t.finish()
    polled = poller.changes("c", start, end)
    listed = overlay_state.route_changes(doc)
    log(f"  a's next hop towards c changed {len(polled)} times in {poller.polls} polls: "
        + ", ".join(f"{(x - start) / 1e9:.2f} s {o}->{n}" for x, o, n in polled))
    changes = len(polled)
    if listed is not None:
        mine = [x for x in listed if overlay_state.change_destination(x) == "c"
                and start // 1_000_000 <= (overlay_state.change_time_ms(x) or 0)
                <= end // 1_000_000]
        log(f"  a's state document lists {len(mine)} route changes towards c in the window: "
            f"{mine}")
        changes = max(changes, len(mine))
    else:
        log("  a's state document lists no route changes (polled next hops counted instead)")
    log(f"  c got {len(t.arrival)} of {len(t.pub.sent_ns)} messages")
    t.check_order()
    t.check_complete()
    if changes > FLAP_MAX_CHANGES:
        raise Failed(f"a's route towards c changed {changes} times in {FLAP_S:.0f} s of a link "
                     f"flapping every {FLAP_PERIOD_S * 1000:.0f} ms, want at most "
                     f"{FLAP_MAX_CHANGES}")


FLAP_LINKS = {(s, d): {"delay": f"{v}ms"} for (x, y), v in
              {("a", "c"): 50, ("a", "b"): 10, ("b", "c"): 20}.items()
              for s, d in ((x, y), (y, x))}

CASES = {
    "relay_beats_slow_direct_link": (HOSTS, case_relay, {"mode": "tun", "delay": "0ms"}),
    "slowed_relay_link_left_within_2s": (HOSTS, case_rise, {"mode": "tun", "delay": "0ms"}),
    "blocked_link_bypassed_within_1s": (HOSTS, case_block, {"mode": "tun", "delay": "0ms"}),
    "flapping_link_keeps_routes": (HOSTS, case_flap, {"mode": "tun", "delay": f"{OTHER_MS}ms",
                                                      "links": FLAP_LINKS}),
}


def add_arguments(ap) -> None:
    ap.add_argument("--csv", help="write the messages' latencies and the events to this file")


if __name__ == "__main__":
    sys.exit(tc.main(cases=CASES, description=__doc__, add_arguments=add_arguments))
