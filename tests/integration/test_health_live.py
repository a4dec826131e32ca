"""The health file of a real app process against a real mosquitto, judged by
``python -m cosalette health`` as a container's HEALTHCHECK would run it."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _apps import AppProcess, finish, start_app
from _broker import MosquittoBroker

APP = """
import cosalette

app = cosalette.App(name="{name}", version="3.1.0", heartbeat_interval=0.5, store=None)

@app.telemetry("meter", interval=0.2)
async def meter() -> dict[str, object]:
    return {{"reading": 1}}

@app.telemetry("probe", interval=0.2)
async def probe() -> dict[str, object]:
    if {broken}:
        raise RuntimeError("probe unplugged")
    return {{"ok": True}}

if __name__ == "__main__":
    app.cli()
"""

Check = tuple[int, str]


def _check(path: Path, *args: str) -> Check:
    result = subprocess.run(
        [sys.executable, "-m", "cosalette", "health", "--file", str(path), *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.returncode, (result.stdout + result.stderr).strip()


async def _until(
    path: Path, wanted: Callable[[Check], bool], *args: str, within: float = 15.0
) -> Check:
    """Run the check until its (exit code, output) is *wanted*; fail with the last one."""
    deadline = time.monotonic() + within
    while True:
        last = await asyncio.to_thread(_check, path, *args)
        if wanted(last):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"health check never matched; last: {last}")
        await asyncio.sleep(0.1)


def _start(tmp_path: Path, broker: MosquittoBroker, *, broken: bool) -> tuple[Path, AppProcess]:
    name = "hbad" if broken else "hgood"
    script = tmp_path / f"{name}_app.py"
    script.write_text(APP.format(name=name, broken=broken))
    health = tmp_path / "run" / "health.json"
    env = {
        "HEALTH__FILE": str(health),
        "HEALTH__INTERVAL": "0.2",
        "HEALTH__BROKER_UNREACHABLE_LIMIT": "1",
    }
    return health, start_app(script, broker.port, extra=env)


async def test_healthy_then_broker_down_then_back_then_stopped(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    health, process = _start(tmp_path, broker, broken=False)
    try:
        code, out = await _until(health, lambda c: c[0] == 0 and " connected," in c[1])
        assert out.startswith("healthy: hgood v3.1.0")
        assert f"broker 127.0.0.1:{broker.port} connected" in out
        doc = json.loads(health.read_text())
        assert doc["devices"] == {"meter": "ok", "probe": "ok"}
        first = doc["written_at"]
        await _until(health, lambda c: json.loads(health.read_text())["written_at"] > first)

        broker.stop()
        code, out = await _until(health, lambda c: c[0] == 1)
        assert out.startswith(f"unhealthy: broker 127.0.0.1:{broker.port} unreachable for ")
        assert "(limit 1 s)" in out
        assert process.poll() is None  # the app itself goes on

        broker.start()
        code, out = await _until(health, lambda c: c[0] == 0 and " connected," in c[1])

        process.send_signal(signal.SIGTERM)
        exit_code, output = finish(process)
        assert exit_code == 0, output
        code, out = _check(health)
        assert (code, out.split(" (")[0]) == (1, "unhealthy: hgood stopped")
    finally:
        finish(process)


async def test_a_device_whose_handler_raises_makes_it_unhealthy(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    health, process = _start(tmp_path, broker, broken=True)
    try:
        code, out = await _until(health, lambda c: c[0] == 1 and "probe" in c[1])
        assert out.startswith("unhealthy: devices ")
        assert "probe" in out and "meter" not in out
        code, as_json = _check(health, "--json")
        verdict = json.loads(as_json)
        assert code == 1 and verdict["healthy"] is False
        assert verdict["document"]["devices"]["meter"] == "ok"
    finally:
        finish(process)
