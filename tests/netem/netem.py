#!/usr/bin/env python3
"""Flume's network emulator: test hosts as Linux network namespaces, linked with emulated one-way
delay, jitter, loss, rate limits and blocking, per direction. See tests/netem/README.md.

As a library (the benchmark harness):

    from netem import Net
    with Net.up(hosts=("a", "b"), delay="5ms", jitter="1ms", loss="10%") as net:
        server = net.popen("b", ["flume-broker", "--listen", net.addr("b") + ":4433"])
        net.run("a", ["flume", "pub", ...])
        net.set("a", "b", block=True)          # change a link while traffic flows
        print(net.stats())

As a command (tests/netem/netem.sh is the same thing):

    netem.sh up --name X --delay 5ms --jitter 1ms --loss 10% [--mode tun|nft|tc|auto]
    netem.sh exec X a CMD...        netem.sh set X a b --loss 20%      netem.sh down X

Modes:
  tun  flume-netem (C++) moves every packet between per-host TUN devices in user space and applies
       loss, delay, jitter and rate there. Any link setting can change at run time.
  nft  hosts are linked by veth pairs; loss and blocking are nftables `numgen random` drop rules on
       the INPUT hook of the receiving host. Kernel speed; no delay, jitter or rate.
  tc   veth pairs with `tc netem` delay/jitter/rate on the sender's egress and loss as in nft mode.
       Only where the kernel has sch_netem.
  auto nft when no link needs delay, jitter or rate; else tc when the kernel has netem; else tun.

Every run has an owner process (default: the caller). When it dies, the run's guard (flume-netem)
kills the processes left in the run's namespaces and deletes them. `up` first removes runs whose
owner and guard are both gone (e.g. after SIGKILL of a whole process group).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import glob
import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

STATE_ROOT = "/run/flume-netem"
NETNS_DIR = "/run/netns"
# Host i (from 1) is 10.77.0.i; these addresses exist only inside the run's namespaces.
SUBNET = "10.77.0."
TUN_NAME = "fnm0"
NFT_TABLE = "flume_netem"
EMULATOR_COMM = "flume-netem"
DEFAULT_LIFETIME_S = 6 * 3600
SKIP = 77

_NAME_RE = re.compile(r"^[A-Za-z0-9_.]{1,24}$")
_HOST_RE = re.compile(r"^[a-z0-9_]{1,12}$")


class NetemError(Exception):
    """Something went wrong setting up or driving an emulated network."""


class Unavailable(NetemError):
    """This machine cannot run the emulator (not root, no namespaces, no TUN...): tests skip."""


# ---------------------------------------------------------------------------------------------
# Units


def parse_duration_ns(v) -> int:
    """'5ms', '250us', '1.5s', '100ns', a bare number is milliseconds."""
    if isinstance(v, (int, float)):
        return int(round(float(v) * 1e6))
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ns|us|µs|ms|s)?\s*", str(v))
    if not m:
        raise ValueError(f"bad duration {v!r} (e.g. 5ms, 250us, 1s)")
    scale = {"ns": 1, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9, None: 1e6}[m.group(2)]
    return int(round(float(m.group(1)) * scale))


def parse_loss(v) -> float:
    """'10%' or 0.1."""
    s = str(v).strip()
    f = float(s[:-1]) / 100 if s.endswith("%") else float(s)
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"loss {v!r} is not within 0..100%")
    return f


def parse_rate_bps(v) -> int:
    """'100mbit', '1gbit', '512kbit', '10mbps' (bytes), a bare number is bits per second."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kmg]?)(bit|bps)?\s*", str(v).lower())
    if not m:
        raise ValueError(f"bad rate {v!r} (e.g. 100mbit, 1gbit)")
    mult = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[m.group(2)]
    per = 8 if m.group(3) == "bps" else 1
    return int(float(m.group(1)) * mult * per)


def parse_bytes(v) -> int:
    m = re.fullmatch(r"\s*([0-9]+)\s*([kmg]?)i?b?\s*", str(v).lower())
    if not m:
        raise ValueError(f"bad size {v!r} (e.g. 64k, 1m)")
    return int(m.group(1)) * {"": 1, "k": 1024, "m": 1 << 20, "g": 1 << 30}[m.group(2)]


def parse_lifetime_s(v) -> float:
    """'6h', '90s', '500ms'; a bare number is seconds."""
    s = str(v).strip()
    if s.endswith("h"):
        return float(s[:-1]) * 3600
    if re.fullmatch(r"[0-9]*\.?[0-9]+", s):
        return float(s)
    return parse_duration_ns(s) / 1e9


def fmt_ns(ns: int) -> str:
    return f"{ns / 1e6:g}ms"


@dataclasses.dataclass
class LinkSpec:
    """One direction of one host pair."""

    delay_ns: int = 0
    jitter_ns: int = 0
    loss: float = 0.0
    block: bool = False
    rate_bps: int = 0  # 0: unlimited
    queue_bytes: int = 1500 * 1000  # backlog limit when rate-limited
    reorder: bool = False  # may jitter reorder packets? (default: order kept, like a real path)

    @staticmethod
    def parse(**kw) -> Dict[str, object]:
        """Keyword values in user units -> LinkSpec field values. Unknown keys raise."""
        out: Dict[str, object] = {}
        for k, v in kw.items():
            if v is None:
                continue
            if k in ("delay", "delay_ns"):
                out["delay_ns"] = parse_duration_ns(v) if k == "delay" else int(v)
            elif k in ("jitter", "jitter_ns"):
                out["jitter_ns"] = parse_duration_ns(v) if k == "jitter" else int(v)
            elif k == "loss":
                out["loss"] = parse_loss(v)
            elif k == "block":
                out["block"] = bool(v)
            elif k in ("rate", "rate_bps"):
                out["rate_bps"] = parse_rate_bps(v) if k == "rate" else int(v)
            elif k in ("queue", "queue_bytes"):
                out["queue_bytes"] = parse_bytes(v) if k == "queue" else int(v)
            elif k == "reorder":
                out["reorder"] = bool(v)
            else:
                raise ValueError(f"unknown link setting {k!r}")
        return out

    def replace(self, **fields) -> "LinkSpec":
        return dataclasses.replace(self, **fields)

    def needs_delay(self) -> bool:
        return self.delay_ns > 0 or self.jitter_ns > 0 or self.rate_bps > 0

    def ctl_args(self) -> str:
        return (f"delay_ns={self.delay_ns} jitter_ns={self.jitter_ns} loss={self.loss!r} "
                f"block={int(self.block)} rate_bps={self.rate_bps} queue_bytes={self.queue_bytes} "
                f"reorder={int(self.reorder)}")


# ---------------------------------------------------------------------------------------------
# Processes


def proc_starttime(pid: int) -> Optional[int]:
    """Start time of a process in clock ticks since boot (guards against PID reuse), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    if fields[0] == b"Z":
        return None  # a zombie is gone for our purposes
    return int(fields[19])


def alive(pid: Optional[int], starttime: Optional[int]) -> bool:
    return bool(pid) and starttime is not None and proc_starttime(pid) == starttime


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def _wait_gone(pid: int, starttime: Optional[int], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive(pid, starttime):
            return True
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)  # reap if it is our child
        time.sleep(0.02)
    return not alive(pid, starttime)


def _stop_emulator(pid: Optional[int], starttime: Optional[int]) -> None:
    """SIGTERM (it tears the run down itself), then SIGKILL after 5 s. Checks it is ours first."""
    if not alive(pid, starttime) or _comm(pid) != EMULATOR_COMM:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not _wait_gone(pid, starttime, 5.0):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, starttime, 2.0)


def _run(argv: Sequence[str], input: Optional[str] = None, check: bool = True,
         timeout: float = 20.0) -> subprocess.CompletedProcess:
    p = subprocess.run(list(argv), input=input, text=True, capture_output=True, timeout=timeout)
    if check and p.returncode != 0:
        raise NetemError(f"{' '.join(argv)}: {p.stderr.strip() or p.stdout.strip()}")
    return p


def _pids_in_netns(ns_path: str) -> List[int]:
    try:
        st = os.stat(ns_path)
    except OSError:
        return []
    me = os.getpid()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in (1, me):
            continue
        try:
            pst = os.stat(f"/proc/{d}/ns/net")
        except OSError:
            continue
        if (pst.st_dev, pst.st_ino) == (st.st_dev, st.st_ino):
            out.append(int(d))
    return out


def destroy_namespace(ns: str) -> None:
    """Kills the processes inside one of our namespaces (found by namespace identity, never by
    name): SIGTERM, 1 s, SIGKILL; then deletes the namespace. Idempotent."""
    path = os.path.join(NETNS_DIR, ns)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = _pids_in_netns(path)
        if not pids:
            break
        for p in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, sig)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and _pids_in_netns(path):
            for p in pids:  # reap our own children so they do not linger as zombies
                with contextlib.suppress(ChildProcessError, OSError):
                    os.waitpid(p, os.WNOHANG)
            time.sleep(0.02)
    if os.path.exists(path):
        _run(["ip", "netns", "delete", ns], check=False)


@contextlib.contextmanager
def _state_lock():
    os.makedirs(STATE_ROOT, mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(STATE_ROOT, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise NetemError(f"{STATE_ROOT}/.lock held for 30 s by another netem run")
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# Environment


def check_environment(mode: str = "tun") -> None:
    """Raises Unavailable with the reason when this machine cannot run the emulator."""
    if os.geteuid() != 0:
        raise Unavailable("needs root (network namespaces, TUN devices)")
    if not shutil.which("ip"):
        raise Unavailable("needs iproute2 (`ip`)")
    if mode in ("tun", "auto"):
        try:
            os.close(os.open("/dev/net/tun", os.O_RDWR))
        except OSError as e:
            raise Unavailable(f"/dev/net/tun: {e.strerror}") from None
    if mode in ("nft", "tc") and not shutil.which("nft"):
        raise Unavailable("needs nftables (`nft`; scripts/setup-deps.sh installs it)")
    if mode == "tc" and not shutil.which("tc"):
        raise Unavailable("needs `tc` (iproute2)")


def netem_qdisc_available(ns: str) -> bool:
    """Whether the kernel has sch_netem: try it on lo inside one of our namespaces."""
    if not shutil.which("tc"):
        return False
    p = _run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem",
              "delay", "1ms"], check=False)
    if p.returncode != 0:
        return False
    _run(["ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", "lo", "root"], check=False)
    return True


def find_emulator() -> str:
    """$FLUME_NETEM_BIN, else the newest build/*/tests/netem/flume-netem in this tree."""
    env = os.environ.get("FLUME_NETEM_BIN")
    if env:
        return env
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    found = glob.glob(os.path.join(root, "build", "*", "tests", "netem", "flume-netem"))
    found += glob.glob(os.path.join(root, "build", "tests", "netem", "flume-netem"))
    if not found:
        raise NetemError("flume-netem is not built (cmake --build <dir> --target flume-netem), "
                         "or set FLUME_NETEM_BIN")
    return max(found, key=os.path.getmtime)


# ---------------------------------------------------------------------------------------------
# Runs


def _state_dir(name: str) -> str:
    return os.path.join(STATE_ROOT, name)


def _load_state(name: str) -> Optional[dict]:
    try:
        with open(os.path.join(_state_dir(name), "state.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _write_state(state: dict) -> None:
    path = os.path.join(_state_dir(state["name"]), "state.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=1)
    os.replace(tmp, path)


def _teardown(name: str, state: Optional[dict]) -> None:
    """Stops the guard, kills what runs inside the namespaces, deletes them and the state."""
    if state:
        _stop_emulator(state.get("emu_pid"), state.get("emu_start"))
        namespaces = list(state.get("ns", {}).values())
    else:
        namespaces = []
    # Also any namespace of this run the state did not list yet (killed half-way through `up`).
    prefix = f"flume-{name}-"
    with contextlib.suppress(OSError):
        namespaces += [n for n in os.listdir(NETNS_DIR)
                       if n.startswith(prefix) and n not in namespaces]
    for ns in namespaces:
        destroy_namespace(ns)
    shutil.rmtree(_state_dir(name), ignore_errors=True)


def _run_status(name: str, state: Optional[dict]) -> str:
    """'live' (owner alive), 'stale' (owner dead), or 'starting' (state not written yet)."""
    if state is None:
        try:
            age = time.time() - os.stat(_state_dir(name)).st_mtime
        except OSError:
            return "stale"
        return "starting" if age < 60 else "stale"
    return "live" if alive(state.get("owner_pid"), state.get("owner_start")) else "stale"


def list_runs() -> List[Tuple[str, str, Optional[dict]]]:
    out = []
    with contextlib.suppress(OSError):
        for name in sorted(os.listdir(STATE_ROOT)):
            if name.startswith(".") or not os.path.isdir(_state_dir(name)):
                continue
            st = _load_state(name)
            out.append((name, _run_status(name, st), st))
    return out


def remove_stale_runs(log=None) -> List[str]:
    """Tears down every run whose owner is dead. Returns their names."""
    removed = []
    with _state_lock():
        for name, status, st in list_runs():
            if status == "stale":
                if log:
                    log(f"netem: removing stale run {name}")
                _teardown(name, st)
                removed.append(name)
    return removed


def _ctl(path: str, line: str, timeout: float = 2.0) -> str:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(line.encode() + b"\n")
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks).decode()
    finally:
        s.close()


class Net:
    """A running emulated network. Create with Net.up(...), find an existing one with
    Net.attach(name). Use as a context manager to tear it down at the end."""

    def __init__(self, state: dict):
        self.state = state
        self._owned_proc: Optional[subprocess.Popen] = None  # the guard, when we started it

    # -- creation -------------------------------------------------------------------------

    @classmethod
    def up(cls, name: Optional[str] = None, hosts: Iterable[str] = ("a", "b"),
           links: Optional[Dict[Tuple[str, str], Dict[str, object]]] = None, mode: str = "auto",
           seed: int = 1, owner: Optional[int] = None, emulator: Optional[str] = None,
           lifetime_s: float = DEFAULT_LIFETIME_S, mtu: int = 1500, log=None,
           **link_settings) -> "Net":
        """Creates hosts (namespaces flume-<name>-<host>, addresses 10.77.0.1, .2, ...) and links
        every ordered pair with link_settings (delay='5ms', jitter='1ms', loss='10%',
        rate='100mbit', queue='1m', block=True, reorder=True), overridden per direction by
        links={('a', 'b'): {...}}. owner: the PID whose death ends the run (default: this
        process). mode: tun, nft, tc or auto (see the module doc)."""
        hosts = list(hosts)
        name = name or f"r{os.getpid()}"
        if not _NAME_RE.match(name):
            raise NetemError(f"run name {name!r}: 1-24 of [A-Za-z0-9_.]")
        if len(hosts) < 2 or len(set(hosts)) != len(hosts) or len(hosts) > 250:
            raise NetemError("need 2..250 distinct hosts")
        for h in hosts:
            if not _HOST_RE.match(h):
                raise NetemError(f"host name {h!r}: 1-12 of [a-z0-9_]")
        if mode not in ("auto", "tun", "nft", "tc"):
            raise NetemError(f"unknown mode {mode!r}")
        check_environment(mode)
        base = LinkSpec(**LinkSpec.parse(**link_settings))
        specs: Dict[Tuple[str, str], LinkSpec] = {
            (s, d): base for s in hosts for d in hosts if s != d}
        for (s, d), kw in (links or {}).items():
            if (s, d) not in specs:
                raise NetemError(f"link {s}>{d}: unknown host")
            specs[(s, d)] = specs[(s, d)].replace(**LinkSpec.parse(**kw))
        owner = owner or os.getpid()
        owner_start = proc_starttime(owner)
        if owner_start is None:
            raise NetemError(f"owner process {owner} does not exist")
        emulator = emulator or find_emulator()
        if not os.access(emulator, os.X_OK):
            raise NetemError(f"{emulator} is not executable")

        remove_stale_runs(log)
        with _state_lock():
            sdir = _state_dir(name)
            if os.path.exists(sdir):
                raise NetemError(f"run {name!r} exists (owner alive); `netem.sh down {name}` first")
            os.makedirs(sdir, mode=0o700)
            state = {
                "name": name, "mode": mode, "hosts": hosts,
                "ns": {h: f"flume-{name}-{h}" for h in hosts},
                "addr": {h: f"{SUBNET}{i + 1}" for i, h in enumerate(hosts)},
                "owner_pid": owner, "owner_start": owner_start,
                "emu_pid": None, "emu_start": None,
                "ctl": os.path.join(sdir, "ctl"), "seed": seed,
                "links": {f"{s}>{d}": dataclasses.asdict(v) for (s, d), v in specs.items()},
                "created": time.time(),
            }
            _write_state(state)
            try:
                for h in hosts:
                    ns = state["ns"][h]
                    p = _run(["ip", "netns", "add", ns], check=False)
                    if p.returncode != 0:
                        raise Unavailable(
                            f"cannot create network namespace {ns}: {p.stderr.strip()}")
                    _run(["ip", "-n", ns, "link", "set", "lo", "up"])
                first = state["ns"][hosts[0]]
                if mode == "auto":
                    if not any(v.needs_delay() for v in specs.values()):
                        mode = "nft" if shutil.which("nft") else "tun"
                    else:
                        tc_ok = netem_qdisc_available(first) and shutil.which("nft")
                        mode = "tc" if tc_ok else "tun"
                elif mode == "tc" and not netem_qdisc_available(first):
                    raise Unavailable("this kernel has no tc netem (sch_netem); use --mode tun")
                if mode == "nft" and any(v.needs_delay() for v in specs.values()):
                    raise NetemError("nft mode emulates loss and blocking only; use --mode tun "
                                     "or tc for delay, jitter or rate")
                state["mode"] = mode
                net = cls(state)
                if mode in ("nft", "tc"):
                    net._make_veth_mesh()
                    for h in hosts:
                        net._apply_kernel_rules(h)
                net._start_emulator(emulator, specs, seed, lifetime_s, mtu, owner)
                _write_state(state)
            except BaseException:
                _teardown(name, state)
                raise
        return net

    @classmethod
    def attach(cls, name: str) -> "Net":
        st = _load_state(name)
        if st is None:
            raise NetemError(f"no run named {name!r} (netem.sh list)")
        return cls(st)

    def _start_emulator(self, emulator: str, specs: Dict[Tuple[str, str], LinkSpec], seed: int,
                        lifetime_s: float, mtu: int, owner: int) -> None:
        st = self.state
        argv = [emulator, "--name", st["name"], "--state-dir", _state_dir(st["name"]),
                "--ctl", st["ctl"], "--owner", str(owner), "--seed", str(seed),
                "--lifetime", str(lifetime_s), "--mtu", str(mtu)]
        for h in st["hosts"]:
            argv += ["--host", f"{h},{NETNS_DIR}/{st['ns'][h]},{st['addr'][h]}"]
        if st["mode"] == "tun":
            for (s, d), v in specs.items():
                argv += ["--set", f"{s} {d} {v.ctl_args()}"]
        else:
            argv.append("--no-tun")
        # PR_SET_PDEATHSIG follows the thread that forks, so it is only safe from the main thread.
        if owner == os.getpid() and threading.current_thread() is threading.main_thread():
            argv += ["--die-with-parent", str(os.getpid())]
        log = open(os.path.join(_state_dir(st["name"]), "emulator.log"), "ab")
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=log, start_new_session=True, close_fds=True)
        finally:
            log.close()
        st["emu_pid"] = proc.pid
        st["emu_start"] = proc_starttime(proc.pid)
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        ready = sel.select(timeout=10.0)
        sel.close()
        line = proc.stdout.readline().decode() if ready else ""
        proc.stdout.close()
        if not line.startswith("ready"):
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout=5)
            try:
                with open(os.path.join(_state_dir(st["name"]), "emulator.log")) as f:
                    why = f.read().strip()
            except OSError:
                why = ""
            if "TUNSETIFF" in why or "/dev/net/tun" in why:
                raise Unavailable(f"flume-netem could not create TUN devices: {why}")
            raise NetemError(f"flume-netem did not start: {why or 'no output'}")
        self._owned_proc = proc

    # -- nft / tc modes -----------------------------------------------------------------------

    def _make_veth_mesh(self) -> None:
        """One veth pair per host pair: in host a, `to-b` carries exactly the a>b direction."""
        st = self.state
        hosts = st["hosts"]
        for i, a in enumerate(hosts):
            for b in hosts[i + 1:]:
                _run(["ip", "link", "add", f"to-{b}", "netns", st["ns"][a], "type", "veth",
                      "peer", "name", f"to-{a}", "netns", st["ns"][b]])
        for a in hosts:
            cmds = []
            for b in hosts:
                if a == b:
                    continue
                cmds += [f"addr add {st['addr'][a]}/32 dev to-{b}",
                         f"link set to-{b} up",
                         f"route add {st['addr'][b]}/32 dev to-{b} src {st['addr'][a]}"]
            _run(["ip", "-n", st["ns"][a], "-batch", "-"], input="\n".join(cmds) + "\n")

    def _apply_kernel_rules(self, host: str) -> None:
        """(Re)writes the nftables loss/block rules of the receiving host and, in tc mode, the netem
        qdiscs on its outgoing veths. Loss is dropped on INPUT of the receiver: silent to the
        sender, like loss on a real path."""
        st = self.state
        ns = st["ns"][host]
        rules = [f"table inet {NFT_TABLE} {{}}", f"delete table inet {NFT_TABLE}",
                 f"table inet {NFT_TABLE} {{",
                 "  chain input {", "    type filter hook input priority filter; policy accept;"]
        for src in st["hosts"]:
            if src == host:
                continue
            v = LinkSpec(**st["links"][f"{src}>{host}"])
            sa = st["addr"][src]
            rules.append(f'    ip saddr {sa} counter comment "rx {src}>{host}"')
            if v.block:
                rules.append(f'    ip saddr {sa} counter drop comment "blocked {src}>{host}"')
            elif v.loss > 0:
                ppm = int(round(v.loss * 1_000_000))
                rules.append(f"    ip saddr {sa} numgen random mod 1000000 < {ppm} counter drop "
                             f'comment "lost {src}>{host}"')
        rules += ["  }", "}"]
        _run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input="\n".join(rules) + "\n")
        if st["mode"] == "tc":
            for dst in st["hosts"]:
                if dst == host:
                    continue
                v = LinkSpec(**st["links"][f"{host}>{dst}"])
                args = ["delay", f"{v.delay_ns // 1000}us"]
                if v.jitter_ns:
                    args += [f"{v.jitter_ns // 1000}us"]
                # With a rate, netem computes each packet's time from the previous one: no
                # reordering. An unmeasurably high rate keeps order when no rate was asked for.
                if v.rate_bps or not v.reorder:
                    args += ["rate", f"{v.rate_bps or 10**12}bit"]
                limit = max(1000, v.queue_bytes // 1500) if v.rate_bps else 100000
                _run(["ip", "netns", "exec", ns, "tc", "qdisc", "replace", "dev", f"to-{dst}",
                      "root", "netem", "limit", str(limit)] + args)

    # -- use --------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.state["name"]

    @property
    def mode(self) -> str:
        return self.state["mode"]

    @property
    def hosts(self) -> List[str]:
        return list(self.state["hosts"])

    def addr(self, host: str) -> str:
        return self.state["addr"][host]

    def ns(self, host: str) -> str:
        return self.state["ns"][host]

    def cmd(self, host: str, argv: Sequence[str]) -> List[str]:
        """The argv that runs argv inside host (for subprocess, or to print)."""
        return ["ip", "netns", "exec", self.ns(host)] + list(argv)

    def popen(self, host: str, argv: Sequence[str], **kw) -> subprocess.Popen:
        return subprocess.Popen(self.cmd(host, argv), **kw)

    def run(self, host: str, argv: Sequence[str], timeout: float = 60, **kw):
        return subprocess.run(self.cmd(host, argv), timeout=timeout, **kw)

    def link(self, src: str, dst: str) -> LinkSpec:
        return LinkSpec(**self.state["links"][f"{src}>{dst}"])

    def set(self, src: str, dst: str, both: bool = False, **settings) -> None:
        """Changes one direction (both=True: also dst>src) while the run goes on. Keys as in
        up(); only the keys given change."""
        fields = LinkSpec.parse(**settings)
        pairs = [(src, dst)] + ([(dst, src)] if both else [])
        for s, d in pairs:
            if f"{s}>{d}" not in self.state["links"]:
                raise NetemError(f"no link {s}>{d}")
        new = {(s, d): self.link(s, d).replace(**fields) for s, d in pairs}
        if self.mode == "tun":
            for (s, d), v in new.items():
                reply = _ctl(self.state["ctl"], f"set {s} {d} {v.ctl_args()}")
                if not reply.startswith("ok"):
                    raise NetemError(f"flume-netem: {reply.strip() or 'no reply'}")
        elif self.mode == "nft" and any(v.needs_delay() for v in new.values()):
            raise NetemError("this run is in nft mode (loss and blocking only); start it with "
                             "--mode tun or tc to change delay, jitter or rate")
        for (s, d), v in new.items():
            self.state["links"][f"{s}>{d}"] = dataclasses.asdict(v)
        if self.mode in ("nft", "tc"):
            for h in {h for pair in new for h in pair}:
                self._apply_kernel_rules(h)
        with _state_lock():
            if os.path.isdir(_state_dir(self.name)):
                _write_state(self.state)

    def stats(self) -> List[dict]:
        """Per direction: configured values and counters (rx_packets, lost, blocked, delivered...
        in tun mode; rx_packets and dropped from the nftables counters in nft/tc mode)."""
        if self.mode == "tun":
            return [r for r in self._emulator_stats() if "src" in r]
        out = []
        for host in self.hosts:
            p = _run(["ip", "netns", "exec", self.ns(host), "nft", "-j", "list", "table", "inet",
                      NFT_TABLE])
            counts: Dict[Tuple[str, str], dict] = {}
            for item in json.loads(p.stdout).get("nftables", []):
                rule = item.get("rule")
                if not rule or "comment" not in rule:
                    continue
                kind, pair = rule["comment"].split(" ", 1)
                s, d = pair.split(">")
                n = next((e["counter"]["packets"] for e in rule["expr"] if "counter" in e), 0)
                counts.setdefault((s, d), {})[kind] = n
            for (s, d), c in counts.items():
                row = {"src": s, "dst": d, **self.state["links"][f"{s}>{d}"],
                       "rx_packets": c.get("rx", 0), "lost": c.get("lost", 0),
                       "blocked": c.get("blocked", 0)}
                row["delivered"] = row["rx_packets"] - row["lost"] - row["blocked"]
                out.append(row)
        return out

    def _emulator_stats(self) -> List[dict]:
        reply = _ctl(self.state["ctl"], "stats")
        return [json.loads(x) for x in reply.splitlines() if x.startswith("{")]

    def totals(self) -> dict:
        """tun mode: packets the emulator could not route (non-IPv4, unknown address) or dropped
        for memory, and how many it holds right now."""
        if self.mode != "tun":
            return {}
        return next((r for r in self._emulator_stats() if "src" not in r), {})

    def alive(self) -> bool:
        return alive(self.state.get("emu_pid"), self.state.get("emu_start"))

    def down(self) -> None:
        with _state_lock():
            _teardown(self.name, _load_state(self.name) or self.state)
        if self._owned_proc is not None:
            with contextlib.suppress(Exception):
                self._owned_proc.wait(timeout=5)
            self._owned_proc = None

    def __enter__(self) -> "Net":
        return self

    def __exit__(self, *exc) -> None:
        self.down()


def down(name: str) -> None:
    with _state_lock():
        st = _load_state(name)
        if st is None and not os.path.isdir(_state_dir(name)):
            raise NetemError(f"no run named {name!r}")
        _teardown(name, st)


# ---------------------------------------------------------------------------------------------
# Command line


def _add_link_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--delay", help="one-way delay, e.g. 5ms")
    p.add_argument("--jitter", help="uniform +- jitter around the delay, e.g. 1ms")
    p.add_argument("--loss", help="random loss, e.g. 10%% or 0.1")
    p.add_argument("--rate", help="bandwidth, e.g. 100mbit (tun, tc)")
    p.add_argument("--queue", help="backlog limit when rate-limited, e.g. 256k")
    p.add_argument("--block", action="store_true", default=None,
                   help="drop everything (100%% loss)")
    p.add_argument("--unblock", dest="block", action="store_false", help="undo --block")
    p.add_argument("--reorder", action="store_true", default=None,
                   help="let jitter reorder packets (default: order is kept)")


def _link_kwargs(a: argparse.Namespace) -> Dict[str, object]:
    keys = ("delay", "jitter", "loss", "rate", "queue", "block", "reorder")
    return {k: getattr(a, k) for k in keys if getattr(a, k) is not None}


def _run_scoped(net: Net, command: List[str]) -> int:
    """`run`: the command runs with FLUME_NETEM_RUN=<name>; the run is torn down when it ends or
    when this process gets SIGINT/SIGTERM/SIGHUP (and by the guard if this process is killed)."""

    class _Stop(Exception):
        pass

    def stop(signum, _frame):
        raise _Stop(signum)

    child = None
    rc = 1
    try:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, stop)
        if not command:
            raise NetemError("run: no command (netem.sh run [options] -- CMD...)")
        env = dict(os.environ, FLUME_NETEM_RUN=net.name)
        for h in net.hosts:
            env[f"FLUME_NETEM_ADDR_{h.upper()}"] = net.addr(h)
        child = subprocess.Popen(command, env=env)
        rc = child.wait()
    except _Stop as e:
        signum = e.args[0]
        if child is not None and child.poll() is None:
            child.send_signal(signum)
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=5)
        rc = 128 + signum
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        net.down()
    return rc


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="netem.sh", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    def add_up_options(p):
        p.add_argument("--name",
                       help="run name (default r<pid>); namespaces are flume-<name>-<host>")
        p.add_argument("--hosts", default="a,b", help="comma-separated host names (default a,b)")
        _add_link_options(p)
        p.add_argument("--link", action="append", default=[], metavar="SRC>DST:k=v,...",
                       help="per-direction override, e.g. 'a>b:delay=20ms,loss=5%%' (repeatable)")
        p.add_argument("--mode", "--loss-mode", default="auto",
                       choices=["auto", "tun", "nft", "tc"])
        p.add_argument("--seed", type=int, default=1, help="seed of loss and jitter (tun mode)")
        p.add_argument("--lifetime", default="6h", help="hard upper bound of the run (default 6h)")
        p.add_argument("--mtu", type=int, default=1500)
        p.add_argument("--emulator",
                       help="path of flume-netem (default $FLUME_NETEM_BIN or build/*)")

    p = sub.add_parser("up", help="create a run")
    add_up_options(p)
    p.add_argument("--owner", type=int, help="PID whose exit ends the run (default: the caller)")
    p.add_argument("--json", action="store_true", help="print the run's state as JSON")

    p = sub.add_parser("run", help="create a run, run a command (in the root namespace, with "
                       "$FLUME_NETEM_RUN set), tear the run down when it ends")
    add_up_options(p)
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD...")

    p = sub.add_parser("down", help="tear runs down")
    p.add_argument("names", nargs="*")
    p.add_argument("--all-stale", action="store_true", help="every run whose owner is gone")

    p = sub.add_parser("exec", help="run a command inside a host")
    p.add_argument("name")
    p.add_argument("host")
    p.add_argument("command", nargs=argparse.REMAINDER)

    p = sub.add_parser("set", help="change a link while the run goes on")
    p.add_argument("name")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--both", action="store_true", help="both directions")
    _add_link_options(p)

    p = sub.add_parser("stats", help="per-link settings and counters (JSON lines)")
    p.add_argument("name")

    p = sub.add_parser("addr", help="the address of a host")
    p.add_argument("name")
    p.add_argument("host")

    sub.add_parser("list", help="runs, live or stale")

    p = sub.add_parser("probe", help="measure a run's links with a UDP echo (see probe.py)")
    p.add_argument("name")
    p.add_argument("--src", default="a")
    p.add_argument("--dst", default="b")
    p.add_argument("--count", type=int, default=400)
    p.add_argument("--interval", default="5ms")

    a = ap.parse_args(argv)
    try:
        if a.cmd in ("up", "run"):
            links = {}
            for spec in a.link:
                m = re.fullmatch(r"([a-z0-9_]+)>([a-z0-9_]+):(.*)", spec)
                if not m:
                    raise NetemError(f"--link {spec!r}: expected SRC>DST:key=value,...")
                kv = dict(x.split("=", 1) for x in m.group(3).split(",") if x)
                for k in ("block", "reorder"):
                    if k in kv:
                        kv[k] = kv[k].lower() in ("1", "true", "yes", "on")
                links[(m.group(1), m.group(2))] = kv
            owner = os.getpid() if a.cmd == "run" else (a.owner or os.getppid())
            net = Net.up(name=a.name, hosts=a.hosts.split(","), links=links, mode=a.mode,
                         seed=a.seed, owner=owner, emulator=a.emulator,
                         lifetime_s=parse_lifetime_s(a.lifetime),
                         mtu=a.mtu, log=lambda m: print(m, file=sys.stderr), **_link_kwargs(a))
            if a.cmd == "run":
                return _run_scoped(net, a.command[1:] if a.command[:1] == ["--"] else a.command)
            if a.json:
                print(json.dumps(net.state, indent=1))
            else:
                print(f"netem: run {net.name} up ({net.mode} mode), "
                      f"owner pid {net.state['owner_pid']}")
                for h in net.hosts:
                    print(f"  {h}: {net.addr(h)}  (netns {net.ns(h)})")
                for k, v in net.state["links"].items():
                    v = LinkSpec(**v)
                    print(f"  {k}: delay {fmt_ns(v.delay_ns)} jitter {fmt_ns(v.jitter_ns)} "
                          f"loss {v.loss * 100:g}%{' BLOCKED' if v.block else ''}"
                          f"{f' rate {v.rate_bps}bit' if v.rate_bps else ''}")
        elif a.cmd == "down":
            if a.all_stale:
                for n in remove_stale_runs():
                    print(f"netem: removed stale run {n}")
            for n in a.names:
                down(n)
            if not a.all_stale and not a.names:
                ap.error("down: give run names or --all-stale")
        elif a.cmd == "exec":
            net = Net.attach(a.name)
            cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
            if not cmd:
                raise NetemError("exec: no command")
            os.execvp("ip", net.cmd(a.host, cmd))
        elif a.cmd == "set":
            Net.attach(a.name).set(a.src, a.dst, both=a.both, **_link_kwargs(a))
        elif a.cmd == "stats":
            net = Net.attach(a.name)
            for row in net.stats():
                print(json.dumps(row))
            if net.mode == "tun":
                print(json.dumps(net.totals()))
        elif a.cmd == "addr":
            print(Net.attach(a.name).addr(a.host))
        elif a.cmd == "list":
            for name, status, st in list_runs():
                mode = st["mode"] if st else "?"
                owner = st["owner_pid"] if st else "?"
                print(f"{name}\t{status}\t{mode}\towner={owner}")
        elif a.cmd == "probe":
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            sys.dont_write_bytecode = True
            import probe
            res = probe.probe(Net.attach(a.name), a.src, a.dst, count=a.count,
                              interval_s=parse_duration_ns(a.interval) / 1e9)
            print(json.dumps(probe.summary(res), indent=1))
    except Unavailable as e:
        print(f"netem: unavailable here: {e}", file=sys.stderr)
        return SKIP
    except (NetemError, ValueError) as e:
        print(f"netem: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
