"""Benchmark: wall time of `cosactl --help`, `cosactl new` and `cosactl add telemetry`.

Each subject is a fresh ``python -m cosactl`` process (this interpreter) run into a fresh
directory: ``new`` renders the cookiecutter template, ``add telemetry counter`` renders the
snippet and its test and inserts ``[devices.counter]`` into a copy of a generated project's
``settings.toml`` (the copy is made outside the timing). The floor is ``python -c "import
click"``, the least any click CLI costs. Every run checks that the files it should write exist.
Medians of interleaved runs after one warm-up each. Reports; never asserts the target (1 s
each). ``COSALETTE_BENCH_SMOKE=1`` uses fewer runs.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _report.py sits beside this file
from _report import report

SMOKE = os.environ.get("COSALETTE_BENCH_SMOKE", "") not in ("", "0")
RUNS = 2 if SMOKE else 5
FLOOR_NAME = "python -c 'import click'"
TARGET = "<=1000 ms"


def _timed(args: list[str], cwd: Path) -> float:
    """Milliseconds for one child process; it must succeed."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return (time.perf_counter() - start) * 1000


class _Subjects:
    """Each subject prepares a fresh directory (untimed), runs once (timed) and checks."""

    def __init__(self, base: Path, template_project: Path) -> None:
        self.base = base
        self.template_project = template_project
        self.count = 0

    def _fresh_dir(self) -> Path:
        self.count += 1
        path = self.base / f"run{self.count}"
        path.mkdir()
        return path

    def floor(self) -> float:
        return _timed(["-c", "import click"], self._fresh_dir())

    def help(self) -> float:
        return _timed(["-m", "cosactl", "--help"], self._fresh_dir())

    def new(self) -> float:
        cwd = self._fresh_dir()
        elapsed = _timed(["-m", "cosactl", "new", "bench"], cwd)
        assert (cwd / "bench" / "settings.toml").is_file()
        return elapsed

    def add(self) -> float:
        cwd = Path(shutil.copytree(self.template_project, self._fresh_dir() / "bench"))
        elapsed = _timed(["-m", "cosactl", "add", "telemetry", "counter"], cwd)
        assert (cwd / "devices" / "counter.py").is_file()
        assert "[devices.counter]" in (cwd / "settings.toml").read_text()
        return elapsed


@pytest.mark.bench
def test_bench_generate(tmp_path: Path) -> None:
    _timed(["-m", "cosactl", "new", "bench"], tmp_path)
    subjects = _Subjects(tmp_path / "runs", tmp_path / "bench")
    subjects.base.mkdir()
    runs: dict[str, Callable[[], float]] = {
        "floor": subjects.floor,
        "help": subjects.help,
        "new": subjects.new,
        "add": subjects.add,
    }
    for run in runs.values():
        run()  # warm-up: bytecode caches and the page cache
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for i in range(RUNS):
        for name in names if i % 2 == 0 else names[::-1]:
            times[name].append(runs[name]())
    medians = {name: statistics.median(values) for name, values in times.items()}

    print(f"generate: median of {RUNS} interleaved runs each, {sys.executable}", flush=True)
    floor = medians["floor"]
    report("generate: import click", floor, "ms", FLOOR_NAME, floor, "1.00x (floor)")
    report("generate: cosactl --help", medians["help"], "ms", FLOOR_NAME, floor, "<=1.5x")
    report("generate: cosactl new", medians["new"], "ms", FLOOR_NAME, floor, TARGET)
    report("generate: cosactl add telemetry", medians["add"], "ms", FLOOR_NAME, floor, TARGET)
