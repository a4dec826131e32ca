"""The runtime's health file: what is written, when, atomically, and the run's hook."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cosalette import App, Settings
from cosalette._health import HealthReporter
from cosalette._health_check import evaluate
from cosalette._mqtt.doubles import MockMqttClient, NullMqttClient
from cosalette._wiring.health_file import HealthFile, health_file_for
from cosalette.testing import AppHarness, FakeClock, make_settings

WALL = 1_800_000_000.0


class Link:
    """An MQTT client stand-in whose connection the test switches."""

    def __init__(self) -> None:
        self.is_connected = True
        self.broker = "broker.lan:1883"


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait (polling) for a write done in a worker thread; fail after *within* seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, "timed out waiting for the health file"
        await asyncio.sleep(0.005)


def read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def make_file(path: Path, mqtt: object, *, wall: list[float] | None = None) -> HealthFile:
    clock = FakeClock()
    reporter = HealthReporter(MockMqttClient(), "gas", "1.2.0", clock)
    reporter.set_device_status("meter")
    now = wall if wall is not None else [WALL]
    return HealthFile(
        path,
        app="gas",
        version="1.2.0",
        mqtt=mqtt,
        reporter=reporter,
        interval=2.0,
        stale_after=11.0,
        broker_unreachable_limit=60.0,
        wall=lambda: now[0],
    )


def test_a_write_is_a_complete_document_the_checker_accepts(tmp_path: Path) -> None:
    path = tmp_path / "run" / "health.json"  # the folder is made
    health = make_file(path, Link())
    assert health.write(health.snapshot())
    doc = read(path)
    assert doc == {
        "pid": os.getpid(),
        "app": "gas",
        "version": "1.2.0",
        "status": "running",
        "written_at": WALL,
        "written_at_iso": "2027-01-15T08:00:00+00:00",
        "connected": True,
        "disconnected_since": None,
        "broker": "broker.lan:1883",
        "devices": {"meter": "ok"},
        "interval": 2.0,
        "stale_after": 11.0,
        "broker_unreachable_limit": 60.0,
    }
    assert evaluate(doc, WALL + 1).ok
    assert sorted(p.name for p in path.parent.iterdir()) == ["health.json"]  # no temp file


def test_device_statuses_come_from_the_heartbeats_reporter(tmp_path: Path) -> None:
    async def main() -> None:
        health = make_file(tmp_path / "h.json", Link())
        reporter = health._reporter
        await reporter.publish_device_available("valve")
        reporter.set_device_status("meter", "error")
        await reporter.publish_device_available("pump")
        await reporter.publish_device_unavailable("pump")
        assert health.snapshot()["devices"] == {
            "meter": "error",
            "valve": "ok",
            "pump": "unavailable",
        }

    asyncio.run(main())


def test_test_doubles_without_a_connection_state_count_as_connected(tmp_path: Path) -> None:
    for client in (MockMqttClient(), NullMqttClient()):
        doc = make_file(tmp_path / "h.json", client).snapshot()
        assert doc["connected"] is True and doc["broker"] is None


async def test_it_writes_every_interval_and_at_once_when_the_connection_changes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "health.json"
    link = Link()
    wall = [WALL]
    health = make_file(path, link, wall=wall)
    clock = FakeClock()
    stop = asyncio.Event()
    task = asyncio.create_task(health.run(clock.sleep, stop))
    await until(lambda: health.writes == 1)  # at start
    clock.advance(1.0)  # half an interval: nothing new
    await asyncio.sleep(0)
    assert health.writes == 1

    link.is_connected = False
    wall[0] = WALL + 1
    clock.advance(1.0)  # the next look (1 s) sees it: written at once
    await until(lambda: health.writes == 2)
    doc = read(path)
    assert doc["connected"] is False and doc["disconnected_since"] == WALL + 1

    wall[0] = WALL + 3
    clock.advance(1.0)
    await asyncio.sleep(0)
    assert health.writes == 2
    clock.advance(1.0)  # an interval after the last write
    await until(lambda: health.writes == 3)
    assert read(path)["disconnected_since"] == WALL + 1  # the outage's start is kept

    link.is_connected = True
    clock.advance(1.0)
    await until(lambda: health.writes == 4)
    assert read(path)["connected"] is True and read(path)["disconnected_since"] is None

    stop.set()
    clock.advance(1.0)
    await task
    health.stop()
    assert read(path)["status"] == "stopped"
    assert read(path)["devices"] == {"meter": "ok"}  # the last known statuses stay


def test_stopped_is_the_last_write(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    health = make_file(path, Link())
    running = health.snapshot()
    health.stop()
    assert not health.write(running)  # a periodic write finishing late is dropped
    assert read(path)["status"] == "stopped"


def test_a_failing_write_is_logged_once_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    health = make_file(blocker / "health.json", Link())
    with caplog.at_level(logging.INFO, logger="cosalette"):
        for _ in range(3):
            assert not health.write(health.snapshot())
        health.stop()
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "cannot write the health file" in warnings[0].getMessage()
        assert str(blocker / "health.json") in warnings[0].getMessage()
        blocker.unlink()
        health._stopped = False
        assert health.write(health.snapshot())
    assert "is written again" in caplog.records[-1].getMessage()


def test_which_runs_write_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.delenv("GAS_STORE_PATH", raising=False)
    app = App("gas", "1.0.0", store=None).describe()
    reporter = HealthReporter(MockMqttClient(), "gas", "1.0.0", FakeClock())

    def path(own_client: bool, **health: Any) -> Path | None:
        settings = make_settings(Settings, health=health)
        found = health_file_for(app, settings, Link(), reporter, own_client)
        return None if found is None else found.path

    assert path(True) == tmp_path / "gas" / "health.json"  # a daemon: on by default
    assert path(False) is None  # the testing kit's client: only when a file is set
    assert path(False, file=str(tmp_path / "x.json")) == tmp_path / "x.json"
    assert path(True, enabled=False, file=str(tmp_path / "x.json")) is None


def test_the_default_file_is_next_to_the_apps_store_file(tmp_path: Path) -> None:
    from cosalette import JsonFileStore

    app = App("gas", "1.0.0", store=JsonFileStore(tmp_path / "state" / "store.json")).describe()
    reporter = HealthReporter(MockMqttClient(), "gas", "1.0.0", FakeClock())
    found = health_file_for(app, make_settings(Settings), Link(), reporter, True)

    assert found is not None and found.path == tmp_path / "state" / "health.json"


def test_stale_after_must_outlast_the_interval() -> None:
    assert make_settings(health={"interval": 4}).health.max_age == 17.0
    assert make_settings(health={"stale_after": 20}).health.max_age == 20.0
    with pytest.raises(ValueError, match=r"stale_after \(5 s\) must be longer than"):
        make_settings(Settings, health={"interval": 10, "stale_after": 5})


async def test_a_run_writes_its_devices_and_says_stopped_after_teardown(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    harness = AppHarness.create(name="gas", health={"file": str(path), "interval": 5})
    calls = 0

    @harness.app.telemetry("meter", interval=1)
    async def meter() -> dict[str, int]:
        return {"n": 1}

    @harness.app.telemetry("flaky", interval=1)
    async def flaky() -> dict[str, int]:
        nonlocal calls
        calls += 1
        raise RuntimeError("sensor gone")

    await harness.start()
    try:
        await until(lambda: path.exists())
        first = read(path)
        assert first["status"] == "running" and first["app"] == "gas"
        await harness.advance_time(5)  # the cycles ran; the next write is due
        await until(lambda: read(path)["devices"].get("flaky") == "error")
        doc = read(path)
        assert doc["devices"] == {"meter": "ok", "flaky": "error"}
        assert evaluate(doc, doc["written_at"]).reasons == ("devices in error: flaky",)
    finally:
        await harness.stop()
    assert calls >= 1
    assert read(path)["status"] == "stopped"
