"""Timing and profiling for ``overhead.py``: batches of calls timed in turn, and cProfile.

``Timed`` is one measured callable; ``run_round_robin`` times a list of them in alternating
batches (after a discarded warm-up batch); ``profile`` runs a callable under cProfile and
returns its hot spots.
"""

from __future__ import annotations

import cProfile
import gc
import io
import pstats
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


# --- timing ---------------------------------------------------------------------------------
@dataclass
class Timed:
    """One measured callable: per-call microseconds of each batch."""

    name: str
    fn: Callable[[], Any]
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def low(self) -> float:
        return min(self.samples)


def time_batch(fn: Callable[[], Any], calls: int) -> float:
    """Microseconds per call over one batch of ``calls`` calls."""
    gc.collect()
    start = time.perf_counter_ns()
    for _ in range(calls):
        fn()
    return (time.perf_counter_ns() - start) / calls / 1000.0


def run_round_robin(items: list[Timed], calls: int, repeats: int) -> None:
    """One discarded warm-up batch each, then ``repeats`` rounds over every item in turn."""
    for item in items:
        time_batch(item.fn, max(1, calls // 5))
    for _ in range(repeats):
        for item in items:
            item.samples.append(time_batch(item.fn, calls))


# --- profiling ------------------------------------------------------------------------------
def profile(fn: Callable[[], Any], calls: int, top: int = 15) -> dict[str, list[dict[str, Any]]]:
    """cProfile ``calls`` calls of ``fn``: the top functions by own time, and pliable's own
    functions by cumulative time, each with the file:line of its ``def``."""
    fn()  # warm
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        fn()
    prof.disable()
    stats = pstats.Stats(prof, stream=io.StringIO()).stats  # type: ignore[attr-defined]
    rows = [
        {
            "where": f"{short_path(path)}:{line}",
            "function": func,
            "calls_per_call": ncalls / calls,
            "own_us_per_call": tottime / calls * 1e6,
            "cum_us_per_call": cumtime / calls * 1e6,
        }
        for (path, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.items()
    ]
    own = sorted(rows, key=lambda r: r["own_us_per_call"], reverse=True)[:top]
    ours = [r for r in rows if r["where"].startswith("pliable/")]
    cum = sorted(ours, key=lambda r: r["cum_us_per_call"], reverse=True)[:top]
    return {"by_own_time": own, "pliable_by_cumulative_time": cum}


def short_path(path: str) -> str:
    """``pliable/lm/lm.py``, ``dspy/...``, ``json/encoder.py``: the path from the package on."""
    for marker in ("/src/", "/site-packages/"):
        if marker in path:
            return path.split(marker, 1)[1]
    match = re.search(r"/python3\.\d+/(.*)$", path)
    return match.group(1) if match else path
