"""python -m flume.bench runs and reports what it measured (the numbers come from real runs on
a quiet machine: docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_reports_throughput_and_latency() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flume.bench", "--duration", "0.5", "--warmup", "0.2",
         "--rate", "20000", "--json"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["received"] > 0
    assert summary["msg_per_s"] > 0
    assert set(summary["latency_us"]) == {"p50", "p90", "p99", "p99.9", "max"}
    assert summary["publisher_summary"]["sent"] > 0
