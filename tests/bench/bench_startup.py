"""Benchmark: start-up wall time and peak memory of cosalette processes, against floors.

(a) Wall time of a fresh interpreter (this one, ``sys.executable``) running a script that
    imports cosalette and registers one telemetry handler, vs ``import pydantic_settings``;
    and ``import cosalette`` alone vs ``import click``. Medians of interleaved runs.
(b) Peak RSS (``VmHWM`` from ``/proc/<pid>/status``, read while the process still runs) of a
    daemon running a one-telemetry app (interval 0.05 s) against a real mosquitto for ~1 s,
    vs a process that only imports pydantic_settings and aiomqtt.

Every child runs in an empty temporary directory (no ``.env`` or ``settings.toml``), with
bytecode caching on and redirected there (``PYTHONPYCACHEPREFIX``), so an unset or set
``PYTHONDONTWRITEBYTECODE`` cannot make one subject compile its sources on every run; a
warm-up run of each subject fills the cache.
Reports; never asserts a target. ``COSALETTE_BENCH_SMOKE=1`` uses fewer runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _report.py sits beside this file
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))  # mosquitto helper
from _bench_broker import module_broker
from _broker import (
    Collector,
    MosquittoBroker,
)
from _report import report

SMOKE = os.environ.get("COSALETTE_BENCH_SMOKE", "") not in ("", "0")
RUNS = 3 if SMOKE else 11  # wall-time runs per subject, interleaved
RSS_RUNS = 1 if SMOKE else 3  # peak-RSS runs per subject
RUN_SECONDS = 1.0  # how long the daemon publishes before its peak RSS is read
TELEMETRY_INTERVAL = 0.05

APP_SCRIPT = """\
import cosalette

app = cosalette.App("b")


@app.telemetry("t", interval=1)
async def t():
    return {}
"""

DAEMON_SCRIPT = f"""\
import cosalette

app = cosalette.App("b", heartbeat_interval=None, health_check_interval=None)


@app.telemetry("t", interval={TELEMETRY_INTERVAL})
async def t():
    return {{"temperature": 21.5}}


app.run()
"""

# The floor process: the two libraries a cosalette daemon cannot do without, then idle.
FLOOR_SCRIPT = """\
import sys
import aiomqtt
import pydantic_settings

print("ready", flush=True)
sys.stdin.read()
"""


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    yield from module_broker(tmp_path_factory)


def _clean_env(cwd: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MQTT__", "LOGGING__")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    env["PYTHONPYCACHEPREFIX"] = str(cwd / "pycache")
    env.update(extra)
    return env


def _wall_time(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=_clean_env(cwd),
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def _median_walls(subjects: dict[str, list[str]], cwd: Path) -> dict[str, float]:
    """Median wall time in ms of each subject, over interleaved runs after one warm-up each."""
    for args in subjects.values():
        _wall_time(args, cwd)  # warm-up: bytecode caches and the page cache
    times: dict[str, list[float]] = {name: [] for name in subjects}
    names = list(subjects)
    for run in range(RUNS):
        for name in names if run % 2 == 0 else names[::-1]:
            times[name].append(_wall_time(subjects[name], cwd) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


@pytest.mark.bench
def test_bench_startup_time(tmp_path: Path) -> None:
    script = tmp_path / "one_telemetry_app.py"
    script.write_text(APP_SCRIPT)
    medians = _median_walls(
        {
            "app": [str(script)],
            "pydantic_settings": ["-c", "import pydantic_settings"],
            "cosalette": ["-c", "import cosalette"],
            "click": ["-c", "import click"],
        },
        tmp_path,
    )
    print(f"start-up: median of {RUNS} interleaved runs each, {sys.executable}", flush=True)
    floor = medians["pydantic_settings"]
    report(
        "start-up: import pydantic_settings",
        floor,
        "ms",
        "import pydantic_settings",
        floor,
        "1.00x (floor)",
    )
    report(
        "start-up: one-telemetry app",
        medians["app"],
        "ms",
        "import pydantic_settings",
        floor,
        "<=1.3x",
    )
    report(
        "start-up: import click",
        medians["click"],
        "ms",
        "import click",
        medians["click"],
        "1.00x (floor)",
    )
    report(
        "start-up: import cosalette",
        medians["cosalette"],
        "ms",
        "import click",
        medians["click"],
        "report only",
    )


# --- (b) peak RSS ------------------------------------------------------------------------------


def _vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for pid {pid}")


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def _first_live_state(collector: Collector, proc: asyncio.subprocess.Process) -> None:
    """Wait for a state published by this daemon (not one retained from an earlier run)."""
    deadline = time.monotonic() + 15
    while not any(not m.retain for m in collector.received("b/t/state")):
        if time.monotonic() > deadline or proc.returncode is not None:
            raise AssertionError("no live state")
        await asyncio.sleep(0.005)


async def _daemon_peak_kb(broker: MosquittoBroker, cwd: Path) -> tuple[int, int]:
    """Peak RSS in KiB of the one-telemetry daemon, and how many states it published."""
    script = cwd / "daemon.py"
    script.write_text(DAEMON_SCRIPT)
    async with Collector(broker.host, broker.port) as collector:
        await collector.subscribe("b/t/state")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=_clean_env(cwd, MQTT__HOST=broker.host, MQTT__PORT=str(broker.port)),
        )
        try:
            try:
                await _first_live_state(collector, proc)
            except AssertionError:
                await _stop(proc)
                assert proc.stderr is not None
                log = (await proc.stderr.read()).decode(errors="replace")[-2000:]
                raise AssertionError(f"the daemon published nothing; its log:\n{log}") from None
            collector.clear()
            await asyncio.sleep(RUN_SECONDS)
            assert proc.returncode is None, "the daemon exited early"
            peak = _vm_hwm_kb(proc.pid)
            published = sum(1 for m in collector.received("b/t/state") if not m.retain)
        finally:
            await _stop(proc)
    return peak, published


async def _floor_peak_kb(cwd: Path) -> int:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        FLOOR_SCRIPT,
        cwd=cwd,
        env=_clean_env(cwd),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line.strip() == b"ready", line
        return _vm_hwm_kb(proc.pid)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        await _stop(proc)


@pytest.mark.bench
def test_bench_peak_rss(broker: MosquittoBroker, tmp_path: Path) -> None:
    if not Path("/proc/self/status").exists():
        pytest.skip("peak RSS is read from /proc/<pid>/status (Linux only)")

    async def measure() -> tuple[list[int], list[int], list[int]]:
        daemon: list[int] = []
        floor: list[int] = []
        published: list[int] = []
        await _daemon_peak_kb(broker, tmp_path)  # warm-up: fills the bytecode cache
        await _floor_peak_kb(tmp_path)
        for _ in range(RSS_RUNS):
            peak, count = await _daemon_peak_kb(broker, tmp_path)
            daemon.append(peak)
            published.append(count)
            floor.append(await _floor_peak_kb(tmp_path))
        return daemon, floor, published

    daemon, floor, published = asyncio.run(measure())
    expected = RUN_SECONDS / TELEMETRY_INTERVAL
    assert min(published) >= expected / 2, f"states published in {RUN_SECONDS} s: {published}"
    print(
        f"peak RSS: median of {RSS_RUNS} run(s); daemon published {published} states in "
        f"{RUN_SECONDS:.0f} s (interval {TELEMETRY_INTERVAL} s)",
        flush=True,
    )
    floor_mib = statistics.median(floor) / 1024
    name = "import pydantic_settings+aiomqtt"
    report("peak RSS: imports only", floor_mib, "MiB", name, floor_mib, "1.00x (floor)")
    report(
        "peak RSS: one-telemetry daemon",
        statistics.median(daemon) / 1024,
        "MiB",
        name,
        floor_mib,
        "<=1.1x",
    )
