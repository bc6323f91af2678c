#!/usr/bin/env python3
"""Plots for docs/benchmarks.md, "Overlay II: routing by measured latency", as plain SVG (no
plotting library needed):

  plot_routes.py timeline TIMELINE.csv OUT.svg   per-message latency over time, the events as
                                                 vertical lines (test_routes.py --csv)
  plot_routes.py pairs PAIRS.csv OUT.svg         CDF over node pairs of direct delay - measured
                                                 p50 (bench_internet.py --csv): right of 0 the
                                                 overlay is faster than the direct path
"""

from __future__ import annotations

import csv
import math
import sys
from typing import List, Sequence, Tuple

W, H = 760, 360
LEFT, RIGHT, TOP, BOTTOM = 60, 20, 20, 45


def esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def nice_ticks(lo: float, hi: float, n: int = 6) -> List[float]:
    span = hi - lo if hi > lo else 1.0
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


class Svg:
    def __init__(self, xr: Tuple[float, float], yr: Tuple[float, float], xlabel: str,
                 ylabel: str):
        self.xr, self.yr = xr, yr
        self.out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
                    f'font-family="sans-serif" font-size="11">',
                    f'<rect width="{W}" height="{H}" fill="white"/>']
        for t in nice_ticks(*xr, 10):
            x = self.x(t)
            self.out.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{H - BOTTOM}" '
                            'stroke="#eee"/>')
            self.out.append(f'<text x="{x:.1f}" y="{H - BOTTOM + 14}" text-anchor="middle">'
                            f'{t:g}</text>')
        for t in nice_ticks(*yr):
            y = self.y(t)
            self.out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" '
                            'stroke="#eee"/>')
            self.out.append(f'<text x="{LEFT - 5}" y="{y + 4:.1f}" text-anchor="end">{t:g}'
                            '</text>')
        self.out.append(f'<rect x="{LEFT}" y="{TOP}" width="{W - LEFT - RIGHT}" '
                        f'height="{H - TOP - BOTTOM}" fill="none" stroke="#333"/>')
        self.out.append(f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 8}" '
                        f'text-anchor="middle">{esc(xlabel)}</text>')
        self.out.append(f'<text x="14" y="{(TOP + H - BOTTOM) / 2}" text-anchor="middle" '
                        f'transform="rotate(-90 14 {(TOP + H - BOTTOM) / 2})">{esc(ylabel)}'
                        '</text>')

    def x(self, v: float) -> float:
        lo, hi = self.xr
        return LEFT + (v - lo) / (hi - lo) * (W - LEFT - RIGHT)

    def y(self, v: float) -> float:
        lo, hi = self.yr
        return H - BOTTOM - (v - lo) / (hi - lo) * (H - TOP - BOTTOM)

    def add(self, element: str) -> None:
        self.out.append(element)

    def save(self, path: str) -> None:
        with open(path, "w") as f:
            f.write("\n".join(self.out + ["</svg>"]) + "\n")


def timeline(src: str, dst: str) -> None:
    msgs: List[Tuple[float, float]] = []
    lost: List[float] = []
    events: List[Tuple[float, str]] = []
    with open(src) as f:
        for r in csv.DictReader(f):
            t = float(r["t_ms"]) / 1000
            if r["kind"] == "event":
                events.append((t, r["label"]))
            elif r["latency_ms"]:
                msgs.append((t, float(r["latency_ms"])))
            else:
                lost.append(t)
    tmax = max([t for t, _ in msgs] + lost + [t for t, _ in events]) + 0.5
    ymax = max(lat for _, lat in msgs) * 1.1
    svg = Svg((0, tmax), (0, ymax), "time (s)",
              "one-way latency a -> c (ms)")
    for i, (t, label) in enumerate(events):
        x = svg.x(t)
        svg.add(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{H - BOTTOM}" stroke="#888" '
                'stroke-dasharray="4 3"/>')
        svg.add(f'<text x="{x + 3:.1f}" y="{TOP + 12 + 12 * (i % 3)}">{esc(label)}</text>')
    for t, lat in msgs:
        svg.add(f'<circle cx="{svg.x(t):.1f}" cy="{svg.y(lat):.1f}" r="1.3" fill="#1f77b4"/>')
    for t in lost:
        svg.add(f'<line x1="{svg.x(t):.1f}" y1="{H - BOTTOM}" x2="{svg.x(t):.1f}" '
                f'y2="{H - BOTTOM - 8}" stroke="#d62728"/>')
    if lost:
        svg.add(f'<text x="{W - RIGHT - 5}" y="{H - BOTTOM - 12}" text-anchor="end" '
                f'fill="#d62728">{len(lost)} lost (red ticks)</text>')
    svg.save(dst)


def pairs(src: str, dst: str) -> None:
    with open(src) as f:
        rows = list(csv.DictReader(f))
    gains = sorted(float(r["direct_ms"]) - float(r["p50_ms"]) for r in rows
                   if r["p50_ms"] not in ("", "nan"))
    best = sorted(float(r["direct_ms"]) - float(r["best_ms"]) for r in rows)
    lo = min(gains + best + [0.0])
    hi = max(gains + best + [1.0])
    pad = (hi - lo) * 0.03
    svg = Svg((lo - pad, hi + pad), (0, 1), "direct one-way delay - latency through the overlay "
              "(ms); > 0: the overlay is faster", "share of node pairs")

    def cdf(values: Sequence[float], color: str, label: str, row: int) -> None:
        pts = " ".join(f"{svg.x(v):.1f},{svg.y((i + 1) / len(values)):.1f}"
                       for i, v in enumerate(values))
        svg.add(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.5"/>')
        svg.add(f'<text x="{LEFT + 10}" y="{TOP + 14 + 14 * row}" fill="{color}">'
                f'{esc(label)}</text>')

    x0 = svg.x(0)
    svg.add(f'<line x1="{x0:.1f}" y1="{TOP}" x2="{x0:.1f}" y2="{H - BOTTOM}" stroke="#333"/>')
    cdf(best, "#999", "best path in the delay matrix (the most any routing could gain)", 0)
    cdf(gains, "#1f77b4", "measured p50 through the overlay", 1)
    svg.save(dst)


def main(argv: List[str]) -> int:
    if len(argv) != 4 or argv[1] not in ("timeline", "pairs"):
        print(__doc__, file=sys.stderr)
        return 2
    (timeline if argv[1] == "timeline" else pairs)(argv[2], argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
