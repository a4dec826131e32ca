"""Benchmark: ``cosactl dev`` save -> first state message from the new code, p50 and p95.

The project comes from ``cosactl new`` + ``cosactl add telemetry counter`` (a long interval,
so each state message is the one a fresh child publishes when it starts). Every edit changes
the ``version`` the handler returns; the time runs from just before the file is written to
the arrival of that version at a subscriber on a real mosquitto. The floor is the same
project's plain ``cosactl run --dry-run``: process start -> its first state message, measured
in the same run. Reports; never asserts the target. ``COSALETTE_BENCH_SMOKE=1``: 5 edits.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # _report.py
sys.path.insert(0, str(HERE.parent / "cli"))  # _devsession.py
from _devsession import (  # noqa: E402
    Collector,
    DevProcess,
    MosquittoBroker,
    make_project,
    require_mosquitto,
    set_payload,
)
from _report import report  # noqa: E402

SMOKE = os.environ.get("COSALETTE_BENCH_SMOKE", "") not in ("", "0")
EDITS = 5 if SMOKE else 20
PLAIN_RUNS = 2 if SMOKE else 5
STATE = "demo/counter/state"
TARGET = "p50 <= 300 ms and < plain start"
FLOOR_NAME = "plain run start->state"


def _version(payload: str) -> object:
    try:
        return json.loads(payload).get("version")
    except (ValueError, AttributeError):
        return None


def _is_version(version: int) -> Callable[[str], bool]:
    """Predicate: the payload carries *version*."""
    return lambda payload: _version(payload) == version


def _contains(text: str) -> Callable[[str], bool]:
    """Predicate: the line contains *text*."""
    return lambda line: text in line


async def _plain_start(root: Path, collector: Collector, version: int) -> float:
    """Seconds from starting ``cosactl run --dry-run`` to its first state message."""
    set_payload(root, f'{{"value": 0, "version": {version}}}')
    collector.clear()
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: ASYNC220 - starting it is what is timed
        [sys.executable, "-m", "cosactl", "run", "--dry-run"],
        cwd=root,
        # a first connect that fails on a loaded machine must not wait out the 5 s backoff
        env={**os.environ, "DEMO_MQTT__RECONNECT_INTERVAL": "0.2"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await collector.wait_for(STATE, lambda p: _version(p) == version, timeout=30)
        return time.monotonic() - started
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 10)


async def _reloads(root: Path, collector: Collector, dev: DevProcess, first: int) -> list[float]:
    """Seconds from each save to the first state of the new version."""
    timings = []
    for version in range(first, first + EDITS):
        collector.clear()
        started = time.monotonic()
        set_payload(root, f'{{"value": 0, "version": {version}}}')
        await collector.wait_for(STATE, _is_version(version), timeout=30)
        timings.append(time.monotonic() - started)
        await dev.wait_line(_contains(f"reload #{version - first + 1} "))
    return timings


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@pytest.mark.bench
def test_bench_dev_reload() -> None:
    executable = require_mosquitto()
    with tempfile.TemporaryDirectory(prefix="bench-dev-") as tmp:
        broker = MosquittoBroker(executable, Path(tmp))
        broker.start()
        try:
            root = make_project(Path(tmp), broker.port, interval=600)
            plain, reloads = asyncio.run(_measure(root, broker.port))
        finally:
            broker.stop()
    floor = statistics.median(plain) * 1000
    p50 = _percentile(reloads, 0.5) * 1000
    p95 = _percentile(reloads, 0.95) * 1000
    report("plain run start->state (median)", floor, "ms", FLOOR_NAME, floor, "1.00x (floor)")
    report(f"dev save->new state p50 ({EDITS} edits)", p50, "ms", FLOOR_NAME, floor, TARGET)
    report(f"dev save->new state p95 ({EDITS} edits)", p95, "ms", FLOOR_NAME, floor, "-")


async def _measure(root: Path, port: int) -> tuple[list[float], list[float]]:
    async with Collector("127.0.0.1", port) as collector:
        await collector.subscribe(STATE)
        plain = [await _plain_start(root, collector, 1000 + i) for i in range(PLAIN_RUNS)]
        set_payload(root, '{"value": 0, "version": 0}')
        dev = DevProcess(root, "--broker", f"mqtt://127.0.0.1:{port}")
        try:
            await collector.wait_for(STATE, lambda p: _version(p) == 0, timeout=30)
            await dev.wait_line(lambda s: "start: ready" in s)
            reloads = await _reloads(root, collector, dev, 1)
        finally:
            await asyncio.to_thread(dev.interrupt)
            dev.kill()
    return plain, reloads
