#!/usr/bin/env python3
"""Loss benchmark: Flume, NATS and Redis pub/sub side by side under emulated loss and delay.

Topology (tests/netem, tun mode): the brokers run in host b (10.77.0.2), every client in host a
(10.77.0.1); the a<->b link carries the configured loss (each direction, silent to the sender)
and delay. One load generator (flume-bench-pubsub-load) holds the publisher and all subscribers,
so latency is publish-to-receive on one clock, over a->b->a (both directions).

Systems: flume, nats, redis, and nats_tuned / redis_tuned (the same, with `ip route ... rto_min
5ms` on the a<->b route in both namespaces: TCP with its minimum RTO lowered from 200 ms).

Every attempt goes to <out>/raw-<pid>.jsonl (several harness processes, each in its own pair of
namespaces, may share one --out: see scripts/bench-loss.sh --full); <out>/summary.csv has medians
(with min/max) over the accepted repeats of every raw file there; <out>/report.md the tables; <out>/*.png the plots. A run whose timer-lag probe
or CPU steal says the machine was disturbed is repeated (bounded), and both attempts are kept.

  bench_loss.py --short                  smoke test (ctest bench_loss.short_mode_smoke)
  bench_loss.py --full                   every scenario in one process (about 4 hours; scripts/
                                         bench-loss.sh --full runs it as parallel groups, ~1.5 h)
  bench_loss.py --scenarios a --loss 10 --delays 0 --rates 1000   a subset
"""
import argparse
import base64
import csv
import glob
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "netem"))

SKIP = 77
FLUME_PORT, NATS_PORT, REDIS_PORT, PROBE_PORT = 7337, 4222, 6379, 9999
PATH_PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "path_probe.py")
ALL_SYSTEMS = ["flume", "nats", "redis", "nats_tuned", "redis_tuned"]
BASE_SYSTEMS = ["flume", "nats", "redis"]


def log(*a):
    print("[bench_loss]", *a, file=sys.stderr, flush=True)


def find_binary(explicit, names, globs):
    if explicit:
        return explicit
    import glob
    for g in globs:
        found = sorted(glob.glob(os.path.join(ROOT, g)), key=os.path.getmtime, reverse=True)
        if found:
            return found[0]
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    return None


def cpu_times():
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    v = [int(x) for x in parts]
    return sum(v[:8]), v[7]  # total (user..steal), steal


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Brokers:
    """flume-broker, nats-server and redis-server in host b; stopped by PID at the end."""

    def __init__(self, net, args, workdir):
        self.net, self.args, self.workdir = net, args, workdir
        self.procs = {}
        b = net.addr("b")
        data = os.path.join(workdir, "flume-data")
        os.makedirs(data, exist_ok=True)
        logs = {}
        for name in ("flume", "nats", "redis"):
            logs[name] = open(os.path.join(workdir, f"{name}-broker.log"), "w")
        self.procs["flume"] = net.popen("b", [args.broker, "--listen", f"{b}:{FLUME_PORT}",
                                              "--data-dir", data], stdout=logs["flume"],
                                        stderr=subprocess.STDOUT)
        self.procs["nats"] = net.popen("b", [args.nats_server, "-a", b, "-p", str(NATS_PORT)],
                                       stdout=logs["nats"], stderr=subprocess.STDOUT)
        self.procs["redis"] = net.popen("b", [args.redis_server, "--bind", b, "--port",
                                              str(REDIS_PORT), "--save", "", "--appendonly", "no",
                                              "--protected-mode", "no", "--daemonize", "no"],
                                        stdout=logs["redis"], stderr=subprocess.STDOUT)
        # The path probe's echo end (see path_probe.py), bounded like the emulator itself.
        self.procs["probe"] = net.popen("b", [sys.executable, PATH_PROBE, "echo", "--bind",
                                              f"{b}:{PROBE_PORT}", "--lifetime", "21600"])
        cert = os.path.join(data, "cert.pem")
        deadline = time.monotonic() + 10
        while not os.path.exists(cert) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.pin = pin_of(cert) if os.path.exists(cert) else ""
        time.sleep(0.5)
        for name, p in self.procs.items():
            if p.poll() is not None:
                raise RuntimeError(f"{name} broker exited at start (see {workdir})")

    def pid(self, system):
        return self.procs[system.replace("_tuned", "")].pid

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)


def pin_of(cert_path):
    with open(cert_path) as f:
        pem = f.read()
    body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    der = base64.b64decode("".join(body.split()))
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def set_rto_min(net, tuned):
    """rto_min 5ms on the a<->b route in both namespaces (tuned TCP), or back to the default."""
    for host, peer in (("a", "b"), ("b", "a")):
        ns = net.ns(host)
        routes = subprocess.run(["ip", "-n", ns, "-4", "route", "show", "dev", "fnm0"],
                                capture_output=True, text=True, check=True).stdout.splitlines()
        route = next((r for r in routes if r.startswith("10.77.0.")), None)
        if route is None:
            raise RuntimeError(f"no fnm0 route in {ns}: {routes}")
        words = route.split()
        if "rto_min" in words:  # "rto_min 5ms" or "rto_min lock 5ms"
            i = words.index("rto_min")
            del words[i:i + (3 if words[i + 1] == "lock" else 2)]
        if tuned:
            words += ["rto_min", "5ms"]
        subprocess.run(["ip", "-n", ns, "route", "replace"] + words + ["dev", "fnm0"]
                       if "dev" not in words else ["ip", "-n", ns, "route", "replace"] + words,
                       check=True)


def run_load(net, args, brokers, system, params, timeout):
    base = system.replace("_tuned", "")
    port = {"flume": FLUME_PORT, "nats": NATS_PORT, "redis": REDIS_PORT}[base]
    argv = [args.load, "--system", base, "--host", net.addr("b"), "--port", str(port)]
    if base == "flume" and brokers.pin:
        argv += ["--pin", brokers.pin]
    for k, v in params.items():
        if v is True:
            argv.append(f"--{k}")
        elif v is not False and v is not None:
            argv += [f"--{k}", str(v)]
    bpid = brokers.pid(system)
    rss = {"max": 0, "start": rss_kb(bpid)}
    stop = threading.Event()

    def sample():
        while not stop.wait(0.2):
            r = rss_kb(bpid)
            if r:
                rss["max"] = max(rss["max"], r)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    probe = net.popen("a", [sys.executable, PATH_PROBE, "send", "--to",
                            f"{net.addr('b')}:{PROBE_PORT}", "--lifetime", str(timeout + 10)],
                      stdout=subprocess.PIPE, text=True)
    t0, s0 = cpu_times()
    started = time.time()
    try:
        p = net.run("a", argv, timeout=timeout, capture_output=True, text=True)
        out, err, rc = p.stdout, p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out, err, rc = "", f"timeout after {timeout}s: {e}", -1
    t1, s1 = cpu_times()
    stop.set()
    sampler.join()
    probe.send_signal(signal.SIGTERM)
    try:
        path = json.loads(probe.communicate(timeout=10)[0] or "{}")
    except (subprocess.TimeoutExpired, ValueError):
        probe.kill()
        probe.wait()
        path = {}
    rss["end"] = rss_kb(bpid)
    rec = {"system": system, "argv": argv, "rc": rc, "started": started,
           "steal": (s1 - s0) / max(1, t1 - t0), "broker_rss_kb": rss,
           "path_rtt": path, "stderr": err[-2000:]}
    try:
        rec["result"] = json.loads(out.strip().splitlines()[-1]) if rc == 0 else None
    except (ValueError, IndexError):
        rec["result"] = None
    return rec


def disturbed(rec, args):
    r = rec.get("result")
    if not r:
        return False
    lag = r["timer_lag_us"]
    if r["mode"] == "throughput":  # the load itself saturates the CPUs: only steal counts
        return rec["steal"] > args.max_steal
    # A probe round trip far above the configured delay: the path stalled (the probes bypass
    # every broker, and a lost probe is just missing). Scenario (b) fills the emulator's queue
    # with its own traffic, which is what it measures: not a disturbance there.
    path = rec.get("path_rtt") or {}
    stalled = (rec.get("scenario") != "b" and path.get("max_us", -1) >= 0 and
               path["max_us"] - 2000 * rec.get("delay_ms", 0) > args.max_path_stall_ms * 1000)
    return (stalled or rec["steal"] > args.max_steal or lag["p99"] > args.max_lag_p99_us or
            lag["max"] > args.max_lag_max_us)


def scenario_plan(args):
    """(scenario, condition(loss %, one-way delay ms), systems, repeats, params, label) list."""
    plan = []
    short = args.short
    dur = lambda rate: args.duration or (3 if short else max(20, 600 / rate))  # noqa: E731
    if "a" in args.scenarios:
        for delay in args.delays:
            for loss in args.loss:
                for rate in args.rates:
                    reps = args.repeats or (1 if short else (5 if loss >= 10 else 3))
                    # Without loss TCP never retransmits, so rto_min changes nothing: no tuned runs.
                    systems = [s for s in args.systems if loss > 0 or s in BASE_SYSTEMS]
                    plan.append(("a", (loss, delay), systems, reps,
                                 {"rate": rate, "size": 128, "duration": dur(rate), "drain": 10,
                                  "raw": True}, f"rate={rate}"))
    if "b" in args.scenarios:
        nsubs = 10 if short else 50
        for size in ([128] if short else [128, 4096]):
            for slow in (1, 0):
                plan.append(("b", (0, 0), [s for s in args.systems if s in BASE_SYSTEMS],
                             args.repeats or (1 if short else 3),
                             {"rate": args.fanout_rate, "size": size,
                              "duration": args.duration or (2 if short else 20), "drain": 3,
                              "subscribers": nsubs, "slow": slow},
                             f"size={size} slow={slow}"))
    if "c" in args.scenarios:
        plan.append(("c", (10, 0), args.systems, args.repeats or (1 if short else 5),
                     {"rate": 400, "size": 128, "topics": 20,
                      "duration": args.duration or (2 if short else 20), "drain": 10},
                     "topics=20"))
    if "d" in args.scenarios:
        for nsub in ([1] if short else [1, 10]):
            for size in ([128] if short else [16, 128, 1024, 16384]):
                plan.append(("d", (0, 0), [s for s in args.systems if s in BASE_SYSTEMS],
                             args.repeats or (1 if short else 3),
                             {"mode": "throughput", "rate": 1000, "size": size,
                              "subscribers": nsub, "duration": args.duration or (2 if short else 10),
                              "drain": 3, "window": 2000}, f"size={size} subs={nsub}"))
    return plan


def run_all(args):
    from netem import Net, Unavailable, NetemError
    os.makedirs(args.out, exist_ok=True)
    # One raw file per harness process, so several (other conditions) can share one --out.
    raw_path = os.path.join(args.out, f"raw-{os.getpid()}.jsonl")
    meta = machine_info(args)
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    plan = scenario_plan(args)
    conditions = []
    for item in plan:
        if item[1] not in conditions:
            conditions.append(item[1])
    records = []
    # --resume: runs that already have an undisturbed result in --out are not run again.
    done = set()
    if args.resume:
        done = {(r["scenario"], r["loss"], r["delay_ms"], r["label"], r["system"], r["repeat"])
                for r in read_raw(args.out) if r.get("result") and not r.get("disturbed")}
        log(f"resume: {len(done)} runs already measured cleanly in {args.out}")
    raw = open(raw_path, "a")
    for cond in conditions:
        loss, delay = cond
        log(f"condition loss={loss}% one-way delay={delay}ms")
        try:
            net = Net.up(name=f"bl{os.getpid() % 100000}", hosts=("a", "b"), mode="tun",
                         loss=f"{loss}%", delay=f"{delay}ms", seed=args.seed,
                         emulator=args.emulator)
        except Unavailable as e:
            log(f"SKIP: {e}")
            sys.exit(SKIP)
        workdir = tempfile.mkdtemp(prefix="bench-loss-")
        try:
            with net:
                brokers = Brokers(net, args, workdir)
                try:
                    tuned = None
                    for scen, c, systems, reps, params, label in plan:
                        if c != cond:
                            continue
                        for rep in range(reps):
                            for system in systems:  # interleaved: every repeat sees every system
                                if (scen, loss, delay, label, system, rep) in done:
                                    continue  # --resume: measured cleanly before
                                want = system.endswith("_tuned")
                                if tuned != want:
                                    set_rto_min(net, want)
                                    tuned = want
                                for attempt in range(1 + args.retries):
                                    prefix = f"s{scen}r{rep}a{attempt}"
                                    p = dict(params, prefix=prefix)
                                    timeout = p["duration"] + p["drain"] + 60
                                    rec = run_load(net, args, brokers, system, p, timeout)
                                    rec.update(scenario=scen, loss=loss, delay_ms=delay,
                                               label=label, repeat=rep, attempt=attempt,
                                               params=params)
                                    rec["disturbed"] = disturbed(rec, args)
                                    stored = dict(rec)
                                    raw.write(json.dumps(stored) + "\n")
                                    raw.flush()
                                    r = rec.get("result")
                                    summary = (f"sent={r['sent']} recv/sub={r['fast_received_per_sub']:.0f} "
                                               f"p50={r['fast_lat_us']['p50']/1000:.2f}ms "
                                               f"p99={r['fast_lat_us']['p99']/1000:.2f}ms "
                                               f"lag99={r['timer_lag_us']['p99']}us "
                                               f"path_max={(rec['path_rtt'] or {}).get('max_us', -1)}us"
                                               if r else f"FAILED rc={rec['rc']} {rec['stderr'][-300:]}")
                                    log(f"  {scen} {label} loss={loss} delay={delay} {system} "
                                        f"rep={rep} att={attempt}: {summary}"
                                        f"{' DISTURBED' if rec['disturbed'] else ''}")
                                    # The raw latencies are big: keep them in raw.jsonl only.
                                    records.append(strip_raw(rec))
                                    if r and not rec["disturbed"]:
                                        break
                                    if not r and attempt >= 1:
                                        break
                finally:
                    brokers.stop()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    raw.close()
    return records, raw_path, meta


def strip_raw(rec):
    rec = dict(rec)
    r = rec.get("result")
    if r:
        r = dict(r)
        subs = []
        for s in r["subs"]:
            s = dict(s)
            s.pop("raw_us", None)
            subs.append(s)
        r["subs"] = subs
        rec["result"] = r
    return rec


def machine_info(args):
    def cmd(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "kernel": os.uname().release, "cpu": cpu, "nproc": os.cpu_count(),
        "nats_server": cmd([args.nats_server, "--version"]),
        "redis_server": cmd([args.redis_server, "--version"]),
        "ngtcp2": cmd(["pkg-config", "--modversion", "libngtcp2"]),
        "libnats": cmd(["pkg-config", "--modversion", "libnats"]),
        "hiredis": cmd(["pkg-config", "--modversion", "hiredis"]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "loadavg": open("/proc/loadavg").read().strip(),
        "argv": sys.argv,
    }


# ---- summary, report, plots ----------------------------------------------------------------


def accepted(records):
    """The last attempt that produced a result, for every (scenario, condition, label, system, repeat).

    An attempt that failed (a crash, a timeout) after a disturbed one leaves the disturbed one standing:
    it is still a measurement, and the report marks how many attempts were disturbed."""
    last = {}
    for r in records:
        if not r.get("result"):
            continue
        key = (r["scenario"], r["loss"], r["delay_ms"], r["label"], r["system"], r["repeat"])
        last[key] = r
    return list(last.values())


def med_range(vals):
    vals = [v for v in vals if v is not None and v >= 0]
    if not vals:
        return None, None, None
    return statistics.median(vals), min(vals), max(vals)


def group(records):
    g = {}
    for r in accepted(records):
        g.setdefault((r["scenario"], r["loss"], r["delay_ms"], r["label"], r["system"]), []).append(r)
    return g


def summarize(records, out):
    rows = []
    for (scen, loss, delay, label, system), rs in sorted(group(records).items()):
        res = [r["result"] for r in rs]
        row = {"scenario": scen, "loss_pct": loss, "delay_ms_one_way": delay, "label": label,
               "system": system, "runs": len(rs),
               "attempts_disturbed": sum(1 for r in records if r["scenario"] == scen and
                                         r["loss"] == loss and r["delay_ms"] == delay and
                                         r["label"] == label and r["system"] == system and
                                         r.get("disturbed")),
               "accepted_disturbed": sum(1 for r in rs if r.get("disturbed"))}
        for k in ("sent",):
            row[k] = statistics.median(x[k] for x in res)
        row["received_per_sub"] = statistics.median(x["fast_received_per_sub"] for x in res)
        row["send_rate"] = statistics.median(x["send_rate"] for x in res)
        row["recv_rate_per_sub"] = statistics.median(x["recv_rate_per_sub"] for x in res)
        for p in ("p50", "p90", "p99", "p999", "max"):
            m, lo, hi = med_range([x["fast_lat_us"][p] / 1000 for x in res])
            row[f"{p}_ms"] = m
            row[f"{p}_ms_min"] = lo
            row[f"{p}_ms_max"] = hi
        slow = [s for x in res for s in x["subs"] if s["slow"]]
        if slow:
            row["slow_received"] = statistics.median(s["received"] for s in slow)
            row["slow_dropped"] = statistics.median(s["dropped"] for s in slow)
            row["slow_disconnected"] = sum(1 for s in slow if s["disconnected"])
        row["broker_rss_max_mb"] = statistics.median(
            (r["broker_rss_kb"]["max"] or 0) / 1024 for r in rs)
        if scen == "c":
            per_topic_p99 = []
            for x in res:
                for s in x["subs"]:
                    per_topic_p99.append([t["p99"] / 1000 for t in s.get("per_topic", [])])
            if per_topic_p99 and per_topic_p99[0]:
                n = len(per_topic_p99[0])
                meds = [statistics.median(v[i] for v in per_topic_p99) for i in range(n)]
                row["topic_p99_ms_min"] = min(meds)
                row["topic_p99_ms_max"] = max(meds)
        row["timer_lag_p99_us_max"] = max(x["timer_lag_us"]["p99"] for x in res)
        row["steal_max"] = max(r["steal"] for r in rs)
        rows.append(row)
    keys = []
    for r in rows:
        for k in r:
            if k not in keys:
                keys.append(k)
    with open(os.path.join(out, "summary.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow(r)
    return rows


def fmt(v, nd=2):
    return "-" if v is None else f"{v:.{nd}f}"


def report(rows, meta, out):
    lines = ["# Loss benchmark report", "",
             f"{meta['date']}; kernel {meta['kernel']}; {meta['cpu']} x{meta['nproc']}; "
             f"{meta['nats_server']}; {meta['redis_server'].split(' sha')[0]}; "
             f"ngtcp2 {meta['ngtcp2']}; load {meta['loadavg']}", "",
             "Latency: publish to receive on one clock (a->b->a), ms, median of runs [min-max].", ""]
    for scen, title in (("a", "(a) latency under loss, 1->1, 128 B"),
                        ("b", "(b) fan-out, 1 publisher -> N subscribers, one slow"),
                        ("c", "(c) head-of-line: one client, 20 topics, 10% loss"),
                        ("d", "(d) throughput, no loss")):
        rs = [r for r in rows if r["scenario"] == scen]
        if not rs:
            continue
        lines += [f"## {title}", ""]
        if scen == "d":
            lines += ["| case | system | runs | msg/s per subscriber | send msg/s |",
                      "| --- | --- | --- | --- | --- |"]
            for r in rs:
                lines.append(f"| {r['label']} | {r['system']} | {r['runs']} | "
                             f"{r['recv_rate_per_sub']:.0f} | {r['send_rate']:.0f} |")
        else:
            extra = " slow recv / dropped / disc. | broker RSS MB |" if scen == "b" else (
                " per-topic p99 min-max |" if scen == "c" else "")
            lines += ["| loss | RTT+ | case | system | runs | sent | recv | p50 | p90 | p99 | p99.9 | "
                      "max |" + extra,
                      "| --- " * (12 + (2 if scen == "b" else 1 if scen == "c" else 0)) + "|"]
            for r in rs:
                lat = " | ".join(
                    f"{fmt(r[p + '_ms'])} [{fmt(r[p + '_ms_min'])}-{fmt(r[p + '_ms_max'])}]"
                    for p in ("p50", "p90", "p99", "p999", "max"))
                line = (f"| {r['loss_pct']}% | {2 * r['delay_ms_one_way']} ms | {r['label']} | "
                        f"{r['system']} | {r['runs']} | {r['sent']:.0f} | "
                        f"{r['received_per_sub']:.0f} | {lat} |")
                if scen == "b":
                    sl = (f"{r.get('slow_received', '-')} / {r.get('slow_dropped', '-')} / "
                          f"{r.get('slow_disconnected', '-')}" if "slow_received" in r else "-")
                    line += f" {sl} | {r['broker_rss_max_mb']:.1f} |"
                if scen == "c":
                    line += (f" {fmt(r.get('topic_p99_ms_min'))}-{fmt(r.get('topic_p99_ms_max'))} |")
                lines.append(line)
        lines.append("")
    lines += glance(rows) + targets(rows)
    path = os.path.join(out, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def rate_of(label):
    return int(label.split("=")[1]) if label.startswith("rate=") else 0


def glance(rows):
    """Scenario (a)'s p99 in one table per delay: rate x loss by system."""
    a = [r for r in rows if r["scenario"] == "a"]
    if not a:
        return []
    systems = [s for s in ALL_SYSTEMS if any(r["system"] == s for r in a)]
    by = {(r["delay_ms_one_way"], rate_of(r["label"]), r["loss_pct"], r["system"]): r for r in a}
    lines = ["## (a) p99 at a glance: ms, median [min-max] over runs", ""]
    for delay in sorted({r["delay_ms_one_way"] for r in a}):
        lines += [f"Added round trip {2 * delay} ms:", "",
                  "| rate | loss | " + " | ".join(systems) + " |",
                  "| --- " * (2 + len(systems)) + "|"]
        for rate, loss in sorted({(rate_of(r["label"]), r["loss_pct"]) for r in a
                                  if r["delay_ms_one_way"] == delay}):
            cells = []
            for s in systems:
                r = by.get((delay, rate, loss, s))
                mark = " †" if r and r["accepted_disturbed"] else ""
                cells.append(f"{fmt(r['p99_ms'])} [{fmt(r['p99_ms_min'])}-{fmt(r['p99_ms_max'])}]"
                             f"{mark}" if r else "-")
            lines.append(f"| {rate}/s | {loss}% | " + " | ".join(cells) + " |")
        lines.append("")
    return lines + ["†: at least one of the runs was disturbed in every attempt (its last attempt "
                    "counts; see raw-*.jsonl).", ""]


def targets(rows):
    """The issue's targets, checked against the medians."""
    lines = ["## Targets", ""]
    by = {(r["scenario"], r["delay_ms_one_way"], r["loss_pct"], r["label"], r["system"]): r
          for r in rows}

    def p99(*key):
        r = by.get(key)
        return r["p99_ms"] if r else None

    verdict = lambda ok: "met" if ok else "MISSED"  # noqa: E731
    for label in sorted({r["label"] for r in rows if r["scenario"] == "a"}, key=rate_of):
        f = p99("a", 0, 10, label, "flume")
        if f is None:
            continue
        n, rd = p99("a", 0, 10, label, "nats"), p99("a", 0, 10, label, "redis")
        nt, rt = p99("a", 0, 10, label, "nats_tuned"), p99("a", 0, 10, label, "redis_tuned")
        line = f"- 10% loss, no delay, {label}: Flume p99 {fmt(f)} ms (<= 12 ms: {verdict(f <= 12)})"
        if n and rd and f > 0:
            line += (f"; NATS {n / f:.0f}x, Redis {rd / f:.0f}x higher (>= 20x: "
                     f"{verdict(n >= 20 * f and rd >= 20 * f)})")
        if nt and rt:
            line += (f"; tuned NATS {fmt(nt)}, tuned Redis {fmt(rt)} ms (Flume lower: "
                     f"{verdict(f < nt and f < rt)})")
        lines.append(line)
    for label in sorted({r["label"] for r in rows if r["scenario"] == "b"}):
        if not label.endswith("slow=1"):
            continue
        base = label[:-1] + "0"
        with_slow, without = p99("b", 0, 0, label, "flume"), p99("b", 0, 0, base, "flume")
        if with_slow is not None and without:
            lines.append(f"- (b) {label.split()[0]}: Flume fast subscribers' p99 {fmt(with_slow)} ms "
                         f"with the slow one, {fmt(without)} ms without (within 20%: "
                         f"{verdict(with_slow <= 1.2 * without)})")
    return lines + [""]


def raw_files(out):
    """Every attempt of every harness run that wrote to this --out."""
    return sorted(glob.glob(os.path.join(out, "raw*.jsonl")))


def read_raw(out):
    for path in raw_files(out):
        with open(path) as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)


def plots(rows, out):
    try:
        import matplotlib
    except ImportError:  # Debian's python3-matplotlib, seen from another CPython 3 (pyenv, venv)
        sys.path.append("/usr/lib/python3/dist-packages")
        import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    made = []
    # CDFs from the raw latencies of scenario (a), one figure per (loss, delay, rate).
    cdf = {}
    # The accepted attempts, as in the tables, but read again with their raw latencies.
    for r in accepted(x for x in read_raw(out) if x["scenario"] == "a"):
        lat = [v / 1000 for s in r["result"]["subs"] for v in s.get("raw_us", [])]
        cdf.setdefault((r["loss"], r["delay_ms"], r["label"]), {}).setdefault(r["system"], []).extend(lat)
    for (loss, delay, label), by_sys in sorted(cdf.items()):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for system, lat in sorted(by_sys.items()):
            if not lat:
                continue
            lat.sort()
            n = len(lat)
            ax.plot(lat, [(i + 1) / n for i in range(n)], label=f"{system} (n={n})")
        ax.legend(loc="lower right")
        ax.set_xscale("log")
        ax.set_xlabel("latency, ms (log)")
        ax.set_ylabel("fraction of messages")
        ax.set_title(f"latency CDF, {loss}% loss, RTT +{2 * delay} ms, {label}, 128 B")
        ax.grid(True, which="both", alpha=0.3)
        p = os.path.join(out, f"cdf_loss{loss}_rtt{2 * delay}ms_{label.replace('=', '')}.png")
        fig.savefig(p, dpi=110, bbox_inches="tight")
        plt.close(fig)
        made.append(p)
    # p99 vs loss, per (delay, rate).
    a_rows = [r for r in rows if r["scenario"] == "a"]
    for delay in sorted({r["delay_ms_one_way"] for r in a_rows}):
        for label in sorted({r["label"] for r in a_rows}):
            sel = [r for r in a_rows if r["delay_ms_one_way"] == delay and r["label"] == label]
            if not sel:
                continue
            fig, ax = plt.subplots(figsize=(7, 4.5))
            for system in sorted({r["system"] for r in sel}):
                pts = sorted((r["loss_pct"], r["p99_ms"], r["p99_ms_min"], r["p99_ms_max"])
                             for r in sel if r["system"] == system)
                xs = [p[0] for p in pts]
                ys = [p[1] for p in pts]
                err = [[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]]
                ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=system)
            ax.set_yscale("log")
            ax.set_xlabel("loss per direction, %")
            ax.set_ylabel("p99 latency, ms (log)")
            ax.set_title(f"p99 vs loss, RTT +{2 * delay} ms, {label}, 128 B")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend()
            p = os.path.join(out, f"p99_vs_loss_rtt{2 * delay}ms_{label.replace('=', '')}.png")
            fig.savefig(p, dpi=110, bbox_inches="tight")
            plt.close(fig)
            made.append(p)
    d_rows = [r for r in rows if r["scenario"] == "d"]
    if d_rows:
        labels = sorted({r["label"] for r in d_rows},
                        key=lambda s: (int(s.split("subs=")[1]), int(s.split()[0][5:])))
        systems = sorted({r["system"] for r in d_rows})
        fig, ax = plt.subplots(figsize=(max(7, 1.2 * len(labels)), 4.5))
        w = 0.8 / len(systems)
        for i, system in enumerate(systems):
            vals = [next((r["recv_rate_per_sub"] for r in d_rows
                          if r["label"] == lab and r["system"] == system), 0) for lab in labels]
            ax.bar([j + i * w for j in range(len(labels))], vals, w, label=system)
        ax.set_xticks([j + 0.4 - w / 2 for j in range(len(labels))])
        ax.set_xticklabels(labels, rotation=20)
        ax.set_ylabel("msg/s per subscriber")
        ax.set_yscale("log")
        ax.set_title("sustained throughput, no loss")
        ax.legend()
        p = os.path.join(out, "throughput.png")
        fig.savefig(p, dpi=110, bbox_inches="tight")
        plt.close(fig)
        made.append(p)
    return made


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--short", action="store_true", help="smoke test: a few seconds per scenario")
    ap.add_argument("--full", action="store_true", help="every scenario and condition")
    ap.add_argument("--scenarios", default=None, help="comma list of a,b,c,d")
    ap.add_argument("--loss", default=None, help="comma list of loss %% (scenario a)")
    ap.add_argument("--delays", default=None, help="comma list of one-way delay ms (a); 5 = 10 ms RTT")
    ap.add_argument("--rates", default=None, help="comma list of msg/s (a)")
    ap.add_argument("--systems", default=",".join(ALL_SYSTEMS))
    ap.add_argument("--repeats", type=int, default=0, help="override repeats per case")
    ap.add_argument("--duration", type=float, default=0, help="override seconds per run")
    ap.add_argument("--fanout-rate", type=float, default=200)
    ap.add_argument("--retries", type=int, default=2, help="extra attempts for a disturbed run")
    ap.add_argument("--max-steal", type=float, default=0.05)
    ap.add_argument("--max-lag-p99-us", type=float, default=2000)
    ap.add_argument("--max-lag-max-us", type=float, default=50000)
    ap.add_argument("--max-path-stall-ms", type=float, default=50,
                    help="a path-probe round trip this far above the configured delay marks a run "
                         "disturbed")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench-loss-results"))
    ap.add_argument("--load", default=None)
    ap.add_argument("--broker", default=None)
    ap.add_argument("--emulator", default=None)
    ap.add_argument("--nats-server", default=None)
    ap.add_argument("--redis-server", default=None)
    ap.add_argument("--report-only", action="store_true", help="rebuild report/plots from --out")
    ap.add_argument("--resume", action="store_true",
                    help="skip runs that already have an undisturbed result in --out (finish an "
                         "interrupted run, or redo only the disturbed ones)")
    args = ap.parse_args()

    if os.geteuid() != 0:
        log("SKIP: needs root (network namespaces)")
        return SKIP
    if args.short:
        d = dict(scenarios="a,b,c,d", loss="10", delays="0", rates="200")
    elif args.full:
        d = dict(scenarios="a,b,c,d", loss="0,1,5,10", delays="0,5", rates="10,100,1000")
    else:
        d = dict(scenarios="a", loss="10", delays="0", rates="1000")
    args.scenarios = (args.scenarios or d["scenarios"]).split(",")
    args.loss = [float(x) if "." in x else int(x) for x in (args.loss or d["loss"]).split(",")]
    args.delays = [int(x) for x in (args.delays or d["delays"]).split(",")]
    args.rates = [int(x) for x in (args.rates or d["rates"]).split(",")]
    args.systems = args.systems.split(",")
    args.load = find_binary(args.load, ["flume-bench-pubsub-load"],
                            ["build/*/tests/bench/loss/flume-bench-pubsub-load"])
    args.broker = find_binary(args.broker, ["flume-broker"], ["build/*/broker/flume-broker"])
    args.emulator = find_binary(args.emulator, ["flume-netem"],
                                ["build/*/tests/netem/flume-netem"])
    args.nats_server = find_binary(args.nats_server, ["nats-server"], ["build/tools/bin/nats-server"])
    args.redis_server = find_binary(args.redis_server, ["redis-server"], [])
    for name in ("load", "broker", "emulator", "nats_server", "redis_server"):
        if not getattr(args, name):
            log(f"FAIL: {name.replace('_', '-')} not found (scripts/setup-deps.sh; cmake --build)")
            return 1
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    if args.report_only:
        records = [strip_raw(r) for r in read_raw(args.out)]
        meta = json.load(open(os.path.join(args.out, "meta.json")))
    else:
        if args.short:  # the smoke test starts clean
            for f in os.listdir(args.out):
                os.remove(os.path.join(args.out, f))
        records, _, meta = run_all(args)
    # The report covers every run in --out (other harness processes' too); the checks below only
    # this run's records.
    all_records = [strip_raw(r) for r in read_raw(args.out)]
    rows = summarize(all_records, args.out)
    rep = report(rows, meta, args.out)
    made = plots(rows, args.out)
    log(f"report {rep}; {len(made)} plots in {args.out}")
    print(open(rep).read())
    # Assert what the smoke test promises: every system delivered, report and plots exist.
    failed = []
    for (scen, loss, delay, label, system), rs in group(records).items():
        if not any(r["result"]["fast_received_per_sub"] > 0 for r in rs):
            failed.append(f"{scen} {label} {system}: nothing received")
    wanted = {(r["scenario"], r["label"], r["system"]) for r in records}
    got = {(r["scenario"], r["label"], r["system"]) for r in accepted(records)}
    failed += [f"{k}: no successful run" for k in sorted(wanted - got)]
    if not made or not os.path.exists(rep):
        failed.append("no report or plots")
    if failed:
        log("FAIL:\n  " + "\n  ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
