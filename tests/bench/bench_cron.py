"""Benchmark: ``CronSchedule.next_fire_after`` for typical expressions; target under 20 us a call.

Each expression is timed with a naive ``after``, a fixed-offset one (what the telemetry runner
passes: ``datetime.now().astimezone()``) and a ``zoneinfo`` one (Europe/Berlin, the DST path).
The floor is ``after.replace(microsecond=0) + timedelta(seconds=1)``: the least datetime work
any next-fire call does (the other implementation starts that way), measured in the same run;
a no-op method call is reported beside it for scale. "varying after" walks ``after`` over
62 years in 11-day steps, so most calls build a fresh month table (cache misses). Reports;
never asserts. ``COSALETTE_BENCH_SMOKE=1`` uses small counts.

Run with ``pytest -q -s -m bench -o "python_files=bench_*.py" tests/bench/bench_cron.py``.
"""

from __future__ import annotations

import os
import sys
import timeit
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _report.py sits beside this file
from _report import report

from cosalette import CronSchedule

SMOKE = os.environ.get("COSALETTE_BENCH_SMOKE", "") not in ("", "0")
CALLS = 2_000 if SMOKE else 20_000  # calls per timing
ROUNDS = 2 if SMOKE else 7  # timings per subject, interleaved; the fastest counts
TYPICAL = ("0 */5 * * * ?", "0 0 6 ? * MON-FRI", "0 30 8 L * ?", "0 0 12 ? * 6#3")
RARE = ("0 0 0 29 2 ?", "0 0 0 ? FEB MON#5")  # a leap day; a fifth Monday in February
AFTER = datetime(2024, 5, 17, 13, 22, 41, 123_456)
ZONES = {"naive": None, "+02:00": timezone(timedelta(hours=2)), "Berlin": ZoneInfo("Europe/Berlin")}
STEP = timedelta(days=11, hours=7, minutes=13, seconds=17)
VARYING = [AFTER + k * STEP for k in range(2_000)]
FLOOR_NAME = "replace+timedelta"
TARGET = "<20 us"


class _Noop:
    """For scale: the cheapest Python-level method call taking and returning a datetime."""

    def next_fire_after(self, after: datetime) -> datetime:
        return after


def _us(timer: timeit.Timer, calls: int) -> float:
    return timer.timeit(calls) / calls * 1e6


def _timers() -> dict[str, tuple[timeit.Timer, int]]:
    """Every subject as (timer, calls represented by one timed statement)."""
    timers: dict[str, tuple[timeit.Timer, int]] = {}
    for expression in TYPICAL + RARE:
        schedule = CronSchedule(expression)
        for zone_name, tz in ZONES.items():
            after = AFTER.replace(tzinfo=tz)
            schedule.next_fire_after(after)  # warm the month tables, as a running schedule is
            stmt = timeit.Timer("f(a)", globals={"f": schedule.next_fire_after, "a": after})
            timers[f"'{expression}' {zone_name}"] = (stmt, 1)
    for expression in TYPICAL:
        loop = "for a in afters: f(a)"
        names = {"f": CronSchedule(expression).next_fire_after, "afters": VARYING}
        timers[f"'{expression}' varying after"] = (timeit.Timer(loop, globals=names), len(VARYING))
    build = timeit.Timer("C(e)", globals={"C": CronSchedule, "e": TYPICAL[1]})
    timers[f"construct '{TYPICAL[1]}'"] = (build, 1)
    return timers


def measure() -> tuple[float, float, dict[str, float]]:
    """Time the floors and every subject in interleaved rounds; keep each one's best round."""
    one_second = timedelta(seconds=1)
    floor_timer = timeit.Timer(
        "a.replace(microsecond=0) + s", globals={"a": AFTER, "s": one_second}
    )
    noop_timer = timeit.Timer("f(a)", globals={"f": _Noop().next_fire_after, "a": AFTER})
    timers = _timers()
    floor = noop = float("inf")
    best = dict.fromkeys(timers, float("inf"))
    for _ in range(ROUNDS):
        floor = min(floor, _us(floor_timer, CALLS))
        noop = min(noop, _us(noop_timer, CALLS))
        for name, (timer, per) in timers.items():
            count = max(1, CALLS // per)
            best[name] = min(best[name], _us(timer, count) / per)
    return floor, noop, best


@pytest.mark.bench
def test_bench_cron_next_fire() -> None:
    floor, noop, best = measure()
    report(FLOOR_NAME, floor * 1e3, "ns/call", FLOOR_NAME, floor * 1e3, "1.00x (floor)")
    report("no-op method call", noop * 1e3, "ns/call", FLOOR_NAME, floor * 1e3, "for scale")
    for name, value in best.items():
        typical = any(f"'{e}'" in name for e in TYPICAL) and not name.startswith("construct")
        report(name, value, "us/call", FLOOR_NAME, floor, TARGET if typical else "report only")


if __name__ == "__main__":
    test_bench_cron_next_fire()
