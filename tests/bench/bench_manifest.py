"""Benchmark: ``cosactl manifest --format json`` on a 20-device project, as a fresh process.

A user types the command and waits: interpreter start, imports, project discovery (settings,
20 device modules with their DeviceConfig models, one adapter module), the wiring check and the
JSON rendering. The floor is ``python -c "import pydantic_settings"``, the import every run
needs. Median wall time of 5 runs (2 with ``COSALETTE_BENCH_SMOKE=1``), after one warm-up run
that also writes the bytecode caches. If the ``cosactl manifest`` command cannot run (not there
yet), the same work is timed through ``cosalette.project`` in ``python -c`` and the figure is
named so. Each run checks the output lists the 20 devices. Reports; never asserts the target.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _report.py sits beside this file
from _report import report

SMOKE = os.environ.get("COSALETTE_BENCH_SMOKE", "") not in ("", "0")
RUNS = 2 if SMOKE else 5
DEVICES = 20
TARGET = "<=1000 ms"
FLOOR_NAME = "import pydantic_settings"
FALLBACK = (
    "from cosalette.project import load_project, build_manifest, manifest_to_json;"
    "p = load_project('.'); p.check();"
    "print(manifest_to_json(build_manifest(p.app, p.settings)), end='')"
)

DEVICE = """\
import cosalette
from cosalette.project import DeviceConfig
from pydantic import BaseModel

from adapters.sensor import SensorPort


class Sensor{n}Config(DeviceConfig):
    interval: float = 10.0
    scale: float = 1.0


class Sensor{n}State(BaseModel):
    value: float
    unit: str = "V"


router = cosalette.Router()


@router.telemetry(
    "sensor{n}",
    interval=cosalette.setting_ref("devices.sensor{n}.interval"),
    publish=cosalette.OnChange(threshold=0.1),
    state_model=Sensor{n}State,
    summary="Sensor {n}.",
)
async def sensor{n}(config: Sensor{n}Config, sensor: SensorPort) -> dict[str, object]:
    return {{"value": sensor.read() * config.scale}}
"""

ADAPTER = """\
from typing import Protocol

from cosalette.project import adapter


class SensorPort(Protocol):
    def read(self) -> float: ...


@adapter(SensorPort)
class Sensor:
    def read(self) -> float:
        return 1.0


@adapter(SensorPort, fake=True)
class FakeSensor:
    def read(self) -> float:
        return 0.5
"""


def _write_project(root: Path) -> None:
    (root / "devices").mkdir(parents=True)
    (root / "adapters").mkdir()
    sections = "".join(f"\n[devices.sensor{n}]\ninterval = {n + 1}.0\n" for n in range(DEVICES))
    (root / "settings.toml").write_text(
        f'[app]\nname = "bench"\nversion = "1.0.0"\n{sections}', encoding="utf-8"
    )
    (root / "adapters" / "sensor.py").write_text(ADAPTER, encoding="utf-8")
    for n in range(DEVICES):
        (root / "devices" / f"sensor{n}.py").write_text(DEVICE.format(n=n), encoding="utf-8")


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("BENCH_", "PYTEST_"))}


def _run(cmd: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=_clean_env(), capture_output=True, text=True)
    return (time.perf_counter() - start) * 1000, done


def _check(done: subprocess.CompletedProcess[str], what: str) -> None:
    assert done.returncode == 0, f"{what} failed:\n{done.stdout}\n{done.stderr}"
    devices = json.loads(done.stdout)["devices"]
    assert len(devices) == DEVICES, f"{what}: {len(devices)} devices in the manifest"


def _median(cmd: list[str], cwd: Path, what: str, check: bool = True) -> float:
    times = []
    for _ in range(RUNS):
        elapsed, done = _run(cmd, cwd)
        if check:
            _check(done, what)
        times.append(elapsed)
    return statistics.median(times)


@pytest.mark.bench
def test_bench_manifest(tmp_path: Path) -> None:
    _write_project(tmp_path)
    cosactl = [sys.executable, "-m", "cosactl", "manifest", "--format", "json"]
    _, warm = _run(cosactl, tmp_path)
    name = "cosactl manifest (20 devices)"
    if warm.returncode != 0 or not warm.stdout.startswith("{"):
        cosactl = [sys.executable, "-c", FALLBACK]
        name = "load_project+manifest (20 dev)"
        _, warm = _run(cosactl, tmp_path)
    _check(warm, name)
    floor = _median([sys.executable, "-c", "import pydantic_settings"], tmp_path, "", False)
    value = _median(cosactl, tmp_path, name)
    report(name, value, "ms", FLOOR_NAME, floor, TARGET)
