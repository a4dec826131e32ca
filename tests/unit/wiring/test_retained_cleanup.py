"""Retained topics of devices that are gone are cleared at the next start; corrupt stores told."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from cosalette import App, JsonFileStore, MemoryStore, Settings, build_registry_snapshot
from cosalette.project import build_manifest, format_manifest_table
from cosalette.testing import AppHarness, MockMqttClient


class RoomSettings(Settings):
    rooms: list[str] = Field(default_factory=lambda: ["kitchen", "hall"])


async def _read() -> dict[str, object]:
    return {"t": 21}


def _rooms_app(store: Any, **kwargs: Any) -> App:
    app = App("bridge", settings_class=RoomSettings, store=store, heartbeat_interval=None, **kwargs)
    app.add_telemetry(lambda s: list(s.rooms), _read, interval=60)  # type: ignore[attr-defined]
    return app


async def _run_once(app: App, mqtt: MockMqttClient, rooms: list[str]) -> None:
    harness = AppHarness.create(app=app, settings_class=RoomSettings, rooms=rooms)
    harness.mqtt = mqtt
    async with harness:
        pass


async def test_a_removed_dynamic_entity_is_cleared_before_the_others_come_online() -> None:
    store, mqtt = MemoryStore(), MockMqttClient()
    await _run_once(_rooms_app(store), mqtt, ["kitchen", "hall"])
    mqtt.reset()
    await _run_once(_rooms_app(store), mqtt, ["hall"])
    published = [(t, p, r) for t, p, r, _ in mqtt.published]
    cleared = [(t, p, r) for t, p, r in published if p == ""]
    assert cleared == [
        ("bridge/kitchen/state", "", True),
        ("bridge/kitchen/availability", "", True),
    ]
    online = published.index(("bridge/hall/availability", "online", True))
    assert published.index(cleared[-1]) < online
    snapshot = store._data["__cosalette_entity_snapshot__bridge"]
    assert snapshot == {
        "schema_version": 1,
        "entities": {"hall": {"is_root": False, "retained_kinds": ["state", "availability"]}},
    }


async def test_cleanup_can_be_switched_off_and_is_off_without_a_store() -> None:
    store, mqtt = MemoryStore(), MockMqttClient()
    await _run_once(_rooms_app(store, retained_cleanup=False), mqtt, ["kitchen"])
    await _run_once(_rooms_app(store, retained_cleanup=False), mqtt, ["hall"])
    assert not any(p == "" for _, p, _, _ in mqtt.published)
    assert store._data == {}


async def test_a_corrupt_store_file_is_kept_reported_once_and_the_app_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "store.json"
    path.write_text("{not json", encoding="utf-8")
    app = App("bridge", store=JsonFileStore(path), heartbeat_interval=None)
    app.add_telemetry("meter", _read, interval=60)
    harness = AppHarness(app=app)
    with caplog.at_level(logging.ERROR):
        async with harness:
            await harness.advance_time(60)
    errors = [json.loads(p) for p, _, _ in harness.messages_for("bridge/error")]
    assert [e["error_type"] for e in errors] == ["store_corrupt"]
    assert str(path) in errors[0]["message"]
    kept = sorted(tmp_path.glob("store.json.corrupt-*"))  # noqa: ASYNC240 - a test's own temp dir
    assert [p.read_text(encoding="utf-8") for p in kept] == ["{not json"]
    assert harness.messages_for("bridge/meter/state")[-1][0] == '{"t":21}'


def test_the_manifest_and_the_registry_say_where_state_is_kept(tmp_path: Path) -> None:
    app = App("bridge", store=JsonFileStore(tmp_path / "s.json"))
    app.add_telemetry("meter", _read, interval=60)
    manifest = build_manifest(app)
    assert manifest["store"] == {
        "backend": "JsonFileStore",
        "path": str(tmp_path / "s.json"),
        "default": False,
    }
    assert f"Store: JsonFileStore at {tmp_path / 's.json'}" in format_manifest_table(manifest)
    assert build_manifest(App("plain", store=None))["store"] is None
    assert "persistence" not in build_registry_snapshot(app)  # the spec's shape is unchanged


async def test_an_ephemeral_default_store_in_a_container_is_warned_about(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("container", "podman")
    app = App("roomy", settings_class=RoomSettings, heartbeat_interval=None)  # default store
    app.add_telemetry(lambda s: list(s.rooms), _read, interval=60)  # type: ignore[attr-defined]
    harness = AppHarness.create(app=app, settings_class=RoomSettings)
    with caplog.at_level(logging.WARNING, logger="cosalette"):
        async with harness:
            pass
    assert "ephemeral inside a container" in caplog.text
    assert "ROOMY_STORE_PATH" in caplog.text
