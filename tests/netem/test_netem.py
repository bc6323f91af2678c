#!/usr/bin/env python3
"""ctest checks of the network emulator itself (tests/netem/CMakeLists.txt):

  probe_matches_configured_delay_and_loss   UDP echo over emulated links (tun mode; nft mode; tc
                                            mode where the kernel has netem) measures RTT, jitter
                                            and loss and compares them with the configuration.
  cleanup_after_killed_run_leaves_nothing   SIGKILLed owners (and guards) leave no namespace,
                                            state or process behind once `up`/`down --all-stale`
                                            ran, and a dead owner alone is cleaned up by the guard.

Exit 77 (ctest SKIP_RETURN_CODE) when this machine cannot create namespaces or TUN devices.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import netem  # noqa: E402
import probe  # noqa: E402

SKIP = 77


def log(msg: str) -> None:
    print(msg, flush=True)


def report(label: str, s: dict) -> None:
    r = {k: (v if v is not None else float("nan")) for k, v in s["rtt_ms"].items()}
    links = ", ".join(
        f"{k} loss {c['loss']:.3f}"
        + (f" blocked {c['blocked']}" if c.get("blocked") else "")
        + (f" late mean/max {c['late_us_mean']:.0f}/{c['late_us_max']:.0f} us"
           if "late_us_mean" in c else "")
        for k, c in s["links"].items() if c.get("loss") is not None)
    log(f"  {label}: sent {s['sent']} rtt-loss {s['rtt_loss']:.3f} RTT min/p10/median/p90/p99/max "
        f"{r['min']:.2f}/{r['p10']:.2f}/{r['median']:.2f}/{r['p90']:.2f}/{r['p99']:.2f}/"
        f"{r['max']:.2f} ms reordered {s['reordered']}; {links}")
    log("  json " + json.dumps({"case": label, **s}))


def run_probe(net, label, src="a", dst="b", **kw) -> list:
    s = probe.summary(probe.probe(net, src, dst, **{k: v for k, v in kw.items()
                                                   if k in ("count", "interval_s")}))
    report(label, s)
    fails = probe.check(net, src, dst, s, **{k: v for k, v in kw.items()
                                             if k in ("median_tol_ms", "jitter")})
    return [f"{label}: {f}" for f in fails]


def test_probe(emulator: str) -> int:
    fails = []
    tag = f"t{os.getpid()}"
    # tun mode: the configuration of the task: 5 ms +- 1 ms one way, 10% loss each way.
    with netem.Net.up(name=f"{tag}tun", mode="tun", emulator=emulator, lifetime_s=120, seed=7,
                      delay="5ms", jitter="1ms", loss="10%") as net:
        log(f"tun mode, run {net.name}: a<->b delay 5ms jitter 1ms loss 10% each way")
        fails += run_probe(net, "tun 5ms+-1ms 10%", count=400, interval_s=0.005)
        # Per direction: 20 ms one way, nothing back.
        net.set("a", "b", delay="20ms", jitter="0", loss="0")
        net.set("b", "a", delay="0", jitter="0", loss="0")
        fails += run_probe(net, "tun a>b 20ms, b>a 0", count=60, interval_s=0.005)
        # Blocking: 100% drop one way, silent to the sender (the client's sends must not fail).
        net.set("a", "b", block=True)
        fails += run_probe(net, "tun a>b blocked", count=40, interval_s=0.002)
        blocked = next(r for r in net.stats() if (r["src"], r["dst"]) == ("a", "b"))["blocked"]
        if blocked < 40:
            fails.append(f"tun blocked: the emulator counted {blocked} blocked packets, want >= 40")
        net.set("a", "b", block=False)
        fails += run_probe(net, "tun a>b unblocked", count=40, interval_s=0.002)
        totals = net.totals()
        if totals.get("memory_dropped"):
            fails.append(f"tun: emulator dropped packets for memory: {totals}")
    # nft mode: loss only, in the kernel, on the receiver's INPUT hook.
    try:
        netem.check_environment("nft")
        nft = True
    except netem.Unavailable as e:
        log(f"nft mode skipped: {e}")
        nft = False
    if nft:
        with netem.Net.up(name=f"{tag}nft", mode="nft", emulator=emulator, lifetime_s=120,
                          links={("a", "b"): {"loss": "20%"}}) as net:
            log(f"nft mode, run {net.name}: a>b loss 20%, b>a none")
            fails += run_probe(net, "nft a>b 20%", count=400, interval_s=0.002)
            net.set("b", "a", block=True)
            fails += run_probe(net, "nft b>a blocked", count=40, interval_s=0.002)
    # tc mode where the kernel has sch_netem.
    with netem.Net.up(name=f"{tag}chk", mode="tun", emulator=emulator, lifetime_s=60) as net:
        has_netem = netem.netem_qdisc_available(net.ns("a"))
    if not has_netem:
        log("tc mode skipped: this kernel has no sch_netem (the tun mode stands in for it)")
    elif nft:
        with netem.Net.up(name=f"{tag}tc", mode="tc", emulator=emulator, lifetime_s=120,
                          delay="5ms", jitter="1ms", loss="10%") as net:
            log(f"tc mode, run {net.name}: a<->b delay 5ms jitter 1ms loss 10% each way")
            fails += run_probe(net, "tc 5ms+-1ms 10%", count=400, interval_s=0.005)
    for f in fails:
        log(f"FAIL {f}")
    return 1 if fails else 0


def _namespaces() -> set:
    try:
        return set(os.listdir(netem.NETNS_DIR))
    except OSError:
        return set()


def _wait(cond, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def _leftovers(name: str) -> list:
    left = sorted(n for n in _namespaces() if n.startswith(f"flume-{name}-"))
    if os.path.exists(os.path.join(netem.STATE_ROOT, name)):
        left.append(f"{netem.STATE_ROOT}/{name}")
    return left


def _cli(emulator: str, *args: str) -> subprocess.CompletedProcess:
    p = subprocess.run([sys.executable, os.path.join(HERE, "netem.py"), *args], text=True,
                       capture_output=True, timeout=60,
                       env=dict(os.environ, FLUME_NETEM_BIN=emulator))
    log(f"  $ netem.sh {' '.join(args)} -> {p.returncode}\n" +
        "".join(f"    {x}\n" for x in (p.stdout + p.stderr).splitlines()))
    return p


def test_cleanup(emulator: str) -> int:
    fails = []
    tag = f"t{os.getpid()}"
    started = []  # every process this test starts, ended by PID in `finally`

    def spawn(argv, **kw):
        p = subprocess.Popen(argv, **kw)
        started.append(p)
        return p

    try:
        # A: the owner dies (SIGKILL); the guard alone must remove namespaces, state and the
        # processes left inside the namespaces.
        owner = spawn(["sleep", "60"])
        name = f"{tag}A"
        net = netem.Net.up(name=name, mode="tun", emulator=emulator, owner=owner.pid,
                           lifetime_s=60, delay="1ms")
        inside = spawn(net.cmd("a", ["sleep", "60"]))
        emu_pid, emu_start = net.state["emu_pid"], net.state["emu_start"]
        if not _wait(lambda: netem._pids_in_netns(f"{netem.NETNS_DIR}/{net.ns('a')}"), 5):
            fails.append("A: the process started inside host a is not in its namespace")
        log(f"A: run {name} up, owner {owner.pid}, guard {emu_pid}, in-namespace process "
            f"{inside.pid}; SIGKILL the owner")
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=5)
        gone = _wait(lambda: not _leftovers(name) and not netem.alive(emu_pid, emu_start), 10)
        if not gone:
            fails.append(f"A: 10 s after the owner died, left: {_leftovers(name)}, guard alive: "
                         f"{netem.alive(emu_pid, emu_start)}")
        try:
            inside.wait(timeout=5)
        except subprocess.TimeoutExpired:
            fails.append("A: the process inside the namespace survived the run")
        if net._owned_proc:
            net._owned_proc.wait(timeout=5)

        # B: owner and guard both SIGKILLed (a whole process group killed): nothing is left to
        # clean up, so the next `up` must find the run stale and remove it.
        for label, name, mode in (("B", f"{tag}B", "tun"), ("C", f"{tag}C", "nft")):
            owner = spawn(["sleep", "60"])
            net = netem.Net.up(name=name, mode=mode, emulator=emulator, owner=owner.pid,
                               lifetime_s=60, loss="5%")
            inside = spawn(net.cmd("b", ["sleep", "60"]))
            _wait(lambda: netem._pids_in_netns(f"{netem.NETNS_DIR}/{net.ns('b')}"), 5)
            log(f"{label}: run {name} ({mode}) up; SIGKILL guard {net.state['emu_pid']} and "
                f"owner {owner.pid}")
            os.kill(net.state["emu_pid"], signal.SIGKILL)
            net._owned_proc.wait(timeout=5)
            os.kill(owner.pid, signal.SIGKILL)
            owner.wait(timeout=5)
            time.sleep(0.3)
            if not _leftovers(name):
                fails.append(f"{label}: expected stale resources after the double SIGKILL")
            if label == "B":
                p = _cli(emulator, "up", "--name", f"{tag}D", "--owner", str(os.getpid()),
                         "--lifetime", "60", "--mode", "tun")
                if p.returncode != 0:
                    fails.append(f"B: netem.sh up failed: {p.stderr}")
                if _leftovers(name):
                    fails.append(f"B: `up` of the next run left {_leftovers(name)}")
                p = _cli(emulator, "down", f"{tag}D")
                if p.returncode != 0 or _leftovers(f"{tag}D"):
                    fails.append(f"B: `down {tag}D` left {_leftovers(f'{tag}D')}")
            else:
                p = _cli(emulator, "down", "--all-stale")
                if p.returncode != 0 or _leftovers(name):
                    fails.append(f"C: `down --all-stale` left {_leftovers(name)}")
            try:
                inside.wait(timeout=5)
            except subprocess.TimeoutExpired:
                fails.append(f"{label}: the process inside the namespace survived the clean-up")
        left = sorted(n for n in _namespaces() if n.startswith(f"flume-{tag}"))
        if left:
            fails.append(f"namespaces left: {left}")
        else:
            log("no namespace, state directory or process of these runs is left")
    finally:
        for p in started:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=5)
        for name in (f"{tag}{x}" for x in "ABCD"):
            if _leftovers(name):
                netem.down(name)
    for f in fails:
        log(f"FAIL {f}")
    return 1 if fails else 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("test", choices=["probe_matches_configured_delay_and_loss",
                                     "cleanup_after_killed_run_leaves_nothing"])
    ap.add_argument("--emulator", required=True)
    a = ap.parse_args()
    try:
        netem.check_environment("tun")
        if a.test.startswith("probe"):
            # Delay is measured in wall-clock time, so a burst of other work on this 2-vCPU
            # machine (the emulator's own "late" counters show it) can spoil one attempt. Like
            # the benchmarks, a disturbed attempt is repeated, at most three times in all, and
            # every attempt is printed; one clean pass proves the emulator.
            for attempt in range(1, 4):
                if test_probe(a.emulator) == 0:
                    return 0
                log(f"probe attempt {attempt} failed; repeating" if attempt < 3 else
                    "probe failed three times")
            return 1
        return test_cleanup(a.emulator)
    except netem.Unavailable as e:
        log(f"SKIP: {e}")
        return SKIP


if __name__ == "__main__":
    sys.exit(main())
