"""The manifest: every device's topics, schedule, adapters and schemas, stable enough for CI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

import yaml
from _project_files import write_project
from pydantic import BaseModel

import cosalette
from cosalette.project import (
    build_manifest,
    diff_manifests,
    format_manifest_table,
    load_project,
    manifest_to_json,
    manifest_to_yaml,
)
from cosalette.testing import make_settings


class Reading(BaseModel):
    celsius: float
    ok: bool = True


class Target(BaseModel):
    position: int


class ValvePort(Protocol):
    def move(self, position: int) -> None: ...


class Valve:
    def move(self, position: int) -> None:
        pass


class PollSettings(cosalette.Settings):
    poll: float = 12.0


def make_app() -> cosalette.App:
    app = cosalette.App("house", "2.0.0", description="House bridge", settings_class=PollSettings)
    app.adapter(ValvePort, Valve)

    @app.telemetry(
        "thermo",
        interval=cosalette.setting_ref("poll"),
        publish=cosalette.OnChange(threshold=0.5) | cosalette.Every(seconds=300),
        state_model=Reading,
        summary="Room temperature.",
        behavior=["read", "publish"],
    )
    async def thermo(ctx: cosalette.DeviceContext) -> dict[str, object]:
        return {"celsius": 20.0}

    @app.command("valve", sub="open")
    async def open_valve(payload: Target, valve: ValvePort) -> dict[str, object]:
        return {}

    @app.command("valve", sub="close")
    async def close_valve(payload: str) -> dict[str, object]:
        return {}

    @app.device()
    async def main(ctx: cosalette.DeviceContext) -> None:
        pass

    @app.periodic("cleanup", interval=3600)
    async def cleanup() -> None:
        pass

    @app.telemetry(name=lambda s: ["a", "b"], interval=5)
    async def probe() -> dict[str, object]:
        return {}

    return app


def by_name(manifest: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["name"], d["kind"]): d for d in manifest["devices"]}


def test_devices_have_full_topics_and_app_topics() -> None:
    manifest = build_manifest(make_app())
    assert manifest["app"] == {
        "name": "house",
        "version": "2.0.0",
        "description": "House bridge",
        "topic_prefix": "house",
    }
    topics = dict(manifest["topics"])
    assert topics.pop("liveness").startswith("house/status is the bridge's liveness")
    assert topics == {"status": "house/status", "error": "house/error"}
    devices = by_name(manifest)
    assert devices[("thermo", "telemetry")]["topics"] == {
        "state": "house/thermo/state",
        "availability": "house/thermo/availability",
        "error": "house/thermo/error",
    }
    assert devices[("valve", "command")]["topics"]["set"] == "house/valve/set"
    assert devices[("main", "device")]["topics"] == {
        "state": "house/state",
        "set": "house/set",
        "availability": "house/availability",
        "error": "house/error",
    }
    assert devices[("cleanup", "periodic")]["topics"] == {}


def test_intervals_and_strategies_are_readable() -> None:
    app = make_app()
    thermo = by_name(build_manifest(app))[("thermo", "telemetry")]
    assert thermo["interval"] == "setting:poll"
    assert thermo["strategy"] == "(OnChange(threshold=0.5) | Every(seconds=300.0))"
    resolved = by_name(build_manifest(app, make_settings(PollSettings, poll=7)))
    assert resolved[("thermo", "telemetry")]["interval"] == 7.0
    assert resolved[("thermo", "telemetry")]["interval_setting"] == "poll"
    assert resolved[("cleanup", "periodic")]["interval"] == 3600.0


def test_dynamic_names_use_a_wildcard_until_settings_name_them() -> None:
    app = make_app()
    static = by_name(build_manifest(app))[("probe", "telemetry")]
    assert static["dynamic"] is True
    assert static["topics"]["state"] == "house/+/state"
    expanded = build_manifest(app, make_settings(PollSettings))
    names = [d["name"] for d in expanded["devices"]]
    assert "a" in names and "b" in names and "probe" not in names


def test_commands_are_grouped_with_adapters_dependencies_and_payload_schema() -> None:
    valve = by_name(build_manifest(make_app()))[("valve", "command")]
    assert valve["handlers"][0].endswith("open_valve")
    assert valve["subcommands"] == ["open", "close"]
    assert valve["sub_key"] == "command"
    assert valve["adapters"] == ["ValvePort"]
    assert valve["dependencies"] == ["ValvePort"]
    assert valve["payload_schema"]["title"] == "Target"
    assert valve["payload_schema"]["required"] == ["position"]


def test_state_schema_comes_from_the_state_model() -> None:
    thermo = by_name(build_manifest(make_app()))[("thermo", "telemetry")]
    assert thermo["state_schema"]["properties"]["celsius"]["type"] == "number"
    assert thermo["summary"] == "Room temperature."
    assert thermo["behavior"] == ["read", "publish"]
    assert thermo["dependencies"] == ["DeviceContext"]


def test_topic_prefix_setting_changes_every_topic() -> None:
    settings = make_settings(PollSettings, mqtt={"topic_prefix": "home/house"})
    manifest = build_manifest(make_app(), settings)
    assert manifest["topics"]["status"] == "home/house/status"
    assert (
        by_name(manifest)[("thermo", "telemetry")]["topics"]["state"] == "home/house/thermo/state"
    )


def test_project_manifest_is_deterministic_and_json_ready(tmp_path: Path) -> None:
    root = write_project(tmp_path)
    first = load_project(root).manifest()
    second = load_project(root).manifest()
    assert manifest_to_json(first) == manifest_to_json(second)
    assert json.loads(manifest_to_json(first)) == first
    assert [d["name"] for d in first["devices"]] == ["counter", "garden/soil", "valve"]
    counter = first["devices"][0]
    assert counter["interval"] == 60.0 and counter["interval_setting"] == "devices.counter.interval"
    assert counter["adapters"] == ["MagnetometerPort"]
    assert counter["dependencies"] == ["CounterConfig", "MagnetometerPort"]
    assert first["adapters"] == [
        {
            "port": "MagnetometerPort",
            "impl": "adapters.magnetometer:Magnetometer",
            "dry_run": "adapters.magnetometer:FakeMagnetometer",
        }
    ]


def test_table_has_one_aligned_row_per_device(tmp_path: Path) -> None:
    table = format_manifest_table(load_project(write_project(tmp_path)).manifest())
    lines = table.splitlines()
    assert lines[0] == "gas2mqtt v0.3.0 — Gas meter to MQTT"
    header = next(line for line in lines if line.startswith("DEVICE"))
    rows = [line for line in lines if line.startswith(("counter ", "garden/soil ", "valve "))]
    assert len(rows) == 3
    state_column = header.index("STATE")
    for row in rows:
        assert row[state_column:].startswith("gas2mqtt/")
    assert "gas2mqtt/valve/set" in table
    assert "60s (devices.counter.interval)" in table
    assert "gas2mqtt/status" in table


def test_yaml_round_trips() -> None:
    manifest = build_manifest(make_app())
    text = manifest_to_yaml(manifest)
    assert yaml.safe_load(text) == manifest
    assert text.index("app:") < text.index("devices:")


def test_diff_is_empty_when_equal_and_readable_when_not() -> None:
    app = make_app()
    expected = build_manifest(app, make_settings(PollSettings))
    assert diff_manifests(expected, json.loads(json.dumps(expected)), "a", "b") == ""
    actual = build_manifest(app, make_settings(PollSettings, poll=30))
    diff = diff_manifests(expected, actual, "manifest.json", "project")
    assert diff.startswith("--- manifest.json\n+++ project\n")
    assert '-      "interval": 12.0,' in diff
    assert '+      "interval": 30.0,' in diff
