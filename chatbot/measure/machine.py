"""What every benchmark reports besides its figures: the machine, and latency summaries.

``machine_facts`` records what the figures were measured on (CPUs, platform, Python, library
versions, the load average: other work on the machine skews every figure); ``latency_summary``
turns timings into p50 / p95 / mean milliseconds.  Left out: any measurement.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import statistics
from importlib import metadata as _metadata
from typing import Any


def latency_summary(seconds: list[float]) -> dict[str, float]:
    """p50 / p95 / mean in milliseconds (p95 by linear interpolation)."""
    ms = sorted(s * 1000 for s in seconds)
    if not ms:
        return {"p50": 0.0, "p95": 0.0, "mean": 0.0, "n": 0}
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[-1] if len(ms) > 1 else ms[0]
    return {
        "p50": round(statistics.median(ms), 2),
        "p95": round(p95, 2),
        "mean": round(statistics.fmean(ms), 2),
        "n": len(ms),
    }


def machine_facts() -> dict[str, Any]:
    """What the figures were measured on."""
    versions = {}
    for package in ("torch", "sentence-transformers", "chromadb", "bm25s", "jieba"):
        try:
            versions[package] = _metadata.version(package)
        except _metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "python": platform.python_version(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        # Other work on the machine skews every figure (torch threads spin on a busy CPU).
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
    }
