"""Writes small cosalette projects into a temporary directory for the project tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

SETTINGS = """\
[app]
name = "gas2mqtt"
version = "0.3.0"
description = "Gas meter to MQTT"

[mqtt]
host = "localhost"

[devices.counter]
interval = 60.0
"""

MAGNETOMETER = """\
from typing import Protocol

from cosalette.project import adapter


class MagnetometerPort(Protocol):
    def read_bz(self) -> float: ...


@adapter(MagnetometerPort)
class Magnetometer:
    def read_bz(self) -> float:
        return 1.0


@adapter(MagnetometerPort, fake=True)
class FakeMagnetometer:
    def __init__(self) -> None:
        self.bz = -7.5

    def read_bz(self) -> float:
        return self.bz
"""

COUNTER = """\
import cosalette
from cosalette.project import DeviceConfig

from adapters.magnetometer import MagnetometerPort


class CounterConfig(DeviceConfig):
    interval: float = 60.0
    factor: float = 1.0


router = cosalette.Router()


@router.telemetry(
    "counter",
    interval=cosalette.setting_ref("devices.counter.interval"),
    publish=cosalette.OnChange(threshold=0.5),
    summary="Counts gas meter impulses.",
)
async def counter(config: CounterConfig, magnet: MagnetometerPort) -> dict[str, object]:
    return {"bz": magnet.read_bz() * config.factor, "interval": config.interval}
"""

VALVE = """\
import cosalette

router = cosalette.Router()


@router.command("valve")
async def valve(payload: str) -> dict[str, object]:
    return {"state": payload}
"""

GARDEN = """\
import cosalette

router = cosalette.Router(tags=["outdoor"])


@router.telemetry("soil", interval=30)
async def soil() -> dict[str, object]:
    return {"moisture": 0.4}
"""


def write_project(root: Path, files: dict[str, str] | None = None, *, base: bool = True) -> Path:
    """Write the standard project (unless *base* is False) plus *files*; return *root*."""
    content: dict[str, str] = {}
    if base:
        content = {
            "settings.toml": SETTINGS,
            "adapters/magnetometer.py": MAGNETOMETER,
            "devices/counter.py": COUNTER,
            "devices/valve.py": VALVE,
            "routers/garden.py": GARDEN,
        }
    content.update(files or {})
    for name, text in content.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root
