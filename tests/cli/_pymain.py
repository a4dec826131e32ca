"""Running ``python -m cosalette`` on app modules in a temp directory: the apps and helpers
the test_python_m_cosalette*.py files share."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
USAGE = 2
FAILED = 1
INTERRUPTED = "\n❌ Interrupted\n"

# An app with a telemetry whose state model carries consumer metadata, a command with a
# payload model, a periodic task; plus the odd objects the error tests point at.
APP = """
from pydantic import BaseModel, Field

import cosalette
from cosalette.schema import consumer, temperature


class Gas(BaseModel):
    counter: float = Field(
        json_schema_extra=consumer(
            display_name="Gas counter", unit="m³", state_class="total_increasing"
        )
    )
    celsius: float = Field(json_schema_extra=temperature("Meter temperature"))


class ValveCommand(BaseModel):
    open: bool


app = cosalette.App("meter2mqtt", "1.2.0", store=None)


@app.telemetry("gas_counter", interval=60, state_model=Gas, summary="Gas meter reading.")
async def gas_counter() -> dict[str, float]:
    return {"counter": 1.0, "celsius": 20.0}


@app.command("valve", payload_model=ValveCommand)
async def valve(payload: ValveCommand) -> dict[str, bool]:
    return {"open": payload.open}


@app.periodic("housekeeping", interval=3600)
async def housekeeping() -> None:
    pass


not_an_app = 42
"""

# Device names that come from settings (a callable name=), and an app whose settings are invalid.
DYNAMIC_APP = """
import cosalette


class ProbeSettings(cosalette.Settings):
    probes: list[str] = ["p1", "p2"]


app = cosalette.App("probes", "0.3.0", settings_class=ProbeSettings, store=None)


@app.telemetry(name=lambda s: s.probes, interval=5)
async def probe() -> dict[str, float]:
    return {}


@app.telemetry("fixed", interval=5)
async def fixed() -> dict[str, float]:
    return {}


class StrictSettings(cosalette.Settings):
    api_key: str
    port: int


strict = cosalette.App("strict", settings_class=StrictSettings, store=None)


clash = cosalette.App("clash", store=None)


@clash.telemetry(name=lambda s: ["fixed"], interval=5)
async def clashing() -> dict[str, float]:
    return {}


@clash.telemetry("fixed", interval=5)
async def fixed_too() -> dict[str, float]:
    return {}
"""


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m cosalette ARGS`` in *cwd*, no terminal attached."""
    return subprocess.run(
        [sys.executable, "-m", "cosalette", *args],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "100", **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def write_app(directory: Path, name: str = "meterapp", source: str = APP) -> Path:
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def write_apps(directory: Path) -> Path:
    """*directory* with the test apps: a good one, a dynamic one, and modules that fail."""
    write_app(directory)
    write_app(directory, "probeapp", DYNAMIC_APP)
    write_app(directory, "broken", "raise RuntimeError('boom at import')\n")
    write_app(directory, "needsdep", "import not_installed_dependency_xyz\n")
    write_app(directory, "interrupting", "raise KeyboardInterrupt\n")
    return directory
