"""Benchmark: ``update()`` cost of each filter, as a multiple of a no-op Python method call.

Run with ``pytest -q -s -m bench tests/bench/bench_filters.py`` or as a plain script.
The floor is measured in the same run, so ratios compare across machines; target for
the compiled ``update`` is at most 1.2x the floor. It reports; it never asserts a ratio.
"""

from __future__ import annotations

import sys
import timeit
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _report.py sits beside this file
from _report import report

from cosalette import _filters_py

CALLS = 200_000  # calls per timing
ROUNDS = 15  # timings per subject; the minimum is the least disturbed one
READING = 21.5
FLOOR_NAME = "no-op method call"


class _Noop:
    """The floor: the cheapest Python-level method call that takes and returns a reading."""

    def update(self, raw: float) -> float:
        return raw


def _compiled() -> Any | None:
    try:
        from cosalette import _cfilters
    except ImportError:
        return None
    return _cfilters


def _subjects() -> dict[str, Callable[[], Any]]:
    """Name every (implementation, filter) pair with a factory for a fresh, seeded filter."""
    modules: dict[str, Any] = {"python": _filters_py}
    compiled = _compiled()
    if compiled is not None:
        modules["cython"] = compiled
    subjects: dict[str, Callable[[], Any]] = {}
    for impl, module in modules.items():
        subjects[f"{impl} Pt1Filter.update"] = partial(module.Pt1Filter, tau=5.0, dt=1.0)
        subjects[f"{impl} MedianFilter(5).update"] = partial(module.MedianFilter, 5)
        subjects[f"{impl} OneEuroFilter.update"] = partial(module.OneEuroFilter, beta=0.1)
    return subjects


def _ns_per_call(timer: timeit.Timer) -> float:
    return timer.timeit(CALLS) / CALLS * 1e9


def measure() -> tuple[float, dict[str, float]]:
    """Time the floor and every subject in interleaved rounds; keep each one's best round."""
    timers: dict[str, timeit.Timer] = {}
    for name, factory in _subjects().items():
        subject = factory()
        for _ in range(10):  # seed and fill the window, so the steady state is measured
            subject.update(READING)
        timers[name] = timeit.Timer("f.update(x)", globals={"f": subject, "x": READING})
    floor_timer = timeit.Timer("f.update(x)", globals={"f": _Noop(), "x": READING})
    floor = float("inf")
    best = dict.fromkeys(timers, float("inf"))
    for _ in range(ROUNDS):
        floor = min(floor, _ns_per_call(floor_timer))
        for name, timer in timers.items():
            best[name] = min(best[name], _ns_per_call(timer))
    return floor, best


@pytest.mark.bench
def test_bench_filter_update() -> None:
    floor, best = measure()
    report(FLOOR_NAME, floor, "ns/call", FLOOR_NAME, floor, "1.00x (floor)")
    for name, value in best.items():
        target = "<=1.2x" if name.startswith("cython") else "report only"
        report(name, value, "ns/call", FLOOR_NAME, floor, target)
    if _compiled() is None:
        print("cython filters: extension not built, nothing to measure", flush=True)


if __name__ == "__main__":
    test_bench_filter_update()
