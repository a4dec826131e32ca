"""`python -m cosalette schema …` on the committed example schemas in tests/data/schemas, with
apps written to temp directories that match them or lack a device."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from _pymain import FAILED, run, write_app

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "schemas"
GAS2MQTT = SCHEMAS / "gas2mqtt.yaml"
NETWORK = SCHEMAS / "network.yaml"

APPS = """
import cosalette

matching = cosalette.App("gas2mqtt", "1.4.2", store=None)


@matching.telemetry("counter", interval=60)
async def counter() -> dict[str, int]:
    return {"counter": 1}


@matching.command("valve")
async def valve(payload: str) -> None:
    pass


lacking = cosalette.App("gas2mqtt", "1.4.2", store=None)


@lacking.telemetry("counter", interval=60)
async def counter_only() -> dict[str, int]:
    return {"counter": 1}


meter = cosalette.App("meter2mqtt", "2.1.0", store=None)


@meter.telemetry("gas_counter", interval=60)
async def gas_counter() -> dict[str, float]:
    return {"counter": 1.0}


sensors = cosalette.Router(prefix="sensors")


@sensors.telemetry("outdoor_temp", interval=60)
async def outdoor_temp() -> dict[str, float]:
    return {"celsius": 1.0, "humidity": 50.0}


meter.include_router(sensors)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_app(tmp_path, "apps", APPS)
    return tmp_path


def test_check_passes_when_the_app_has_every_device_of_the_committed_schema(
    project: Path,
) -> None:
    result = run(
        "schema", "check", "--app", "apps:matching", "--schema", str(GAS2MQTT), cwd=project
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (
        f"Schema: {GAS2MQTT} (v1.4.2)\n"
        "App:    gas2mqtt\n"
        "\n"
        "✓ counter — OK\n"
        "✓ valve — OK\n"
        "\n"
        "Result: 0 violations, 2 compliant\n"
        "Exit code: 0\n"
    )


def test_check_fails_when_the_committed_schema_lists_a_device_the_app_lacks(
    project: Path,
) -> None:
    result = run("schema", "check", "--app", "apps:lacking", "--schema", str(GAS2MQTT), cwd=project)

    assert result.returncode == FAILED
    lines = result.stdout.splitlines()
    assert "✗ valve — MISSING" in lines
    assert "✓ counter — OK" in lines
    assert lines[-2:] == ["Result: 1 violations, 1 compliant", "Exit code: 1"]
    assert result.stderr == ""


def test_check_against_the_network_schema_reports_an_all_apps_scope_violation(
    project: Path,
) -> None:
    result = run("schema", "check", "--app", "apps:meter", "--schema", str(NETWORK), cwd=project)

    assert result.returncode == FAILED
    lines = result.stdout.splitlines()
    assert "✓ gas_counter — OK" in lines
    assert "✓ sensors/outdoor_temp — OK" in lines
    violations = [line for line in lines if line.endswith(" — SCOPE VIOLATION")]
    assert len(violations) == 1 and "announce" in violations[0]
    assert not any("heating" in line or "burner" in line for line in lines)  # boiler2mqtt's
    assert lines[-2:] == ["Result: 1 violations, 2 compliant", "Exit code: 1"]


@pytest.mark.parametrize("name", ["gas2mqtt.yaml", "gas2mqtt.json"])
def test_validate_reads_yaml_and_json(tmp_path: Path, name: str) -> None:
    result = run("schema", "validate", str(SCHEMAS / name), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "✅ Schema validated: gas2mqtt v1.4.2\n"
        "   AsyncAPI version: 3.0.0\n"
        "   Channels: 3\n"
        "   Schema type: single-app\n"
    )


def test_validate_the_network_schema(tmp_path: Path) -> None:
    result = run("schema", "validate", str(NETWORK), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "✅ Schema validated: home-network v2.1.0",
        "   AsyncAPI version: 3.0.0",
        "   Channels: 8",
        "   Apps in network: 2",
        "   Schema type: network-level",
    ]


def test_slice_keeps_the_apps_channels_the_all_apps_ones_and_the_enforcement(
    tmp_path: Path,
) -> None:
    result = run("schema", "slice", "--network", str(NETWORK), "--app", "boiler2mqtt", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    document = yaml.safe_load(result.stdout)
    assert list(document) == ["asyncapi", "info", "x-cosalette-enforcement", "channels"]
    assert document["info"] == {"title": "boiler2mqtt", "version": "2.1.0"}
    assert sorted(document["channels"]) == [
        "announce",
        "boilerStatus",
        "burnerCommand",
        "heatingFloorState",
        "heatingWallState",
    ]


def test_ha_discovery_of_the_committed_schema(tmp_path: Path) -> None:
    as_json = run("schema", "ha-discovery", str(GAS2MQTT), cwd=tmp_path)
    as_yaml = run("schema", "ha-discovery", str(GAS2MQTT), "--format", "yaml", cwd=tmp_path)

    assert as_json.returncode == 0, as_json.stderr
    assert as_yaml.returncode == 0, as_yaml.stderr
    entities = json.loads(as_json.stdout)
    assert yaml.safe_load(as_yaml.stdout) == entities
    topics = [e["topic"] for e in entities]
    assert "homeassistant/button/gas2mqtt/valve_reset/config" in topics  # the override
    assert not any(t.endswith(("_status/config", "_note/config")) for t in topics)
    assert "\\u00b5g/m\\u00b3" in as_json.stdout and "µg/m³" in as_yaml.stdout


def test_json_and_yaml_schemas_give_the_same_acl(tmp_path: Path) -> None:
    from_yaml = run("schema", "acl", str(GAS2MQTT), "-f", "emqx", cwd=tmp_path)
    from_json = run("schema", "acl", str(SCHEMAS / "gas2mqtt.json"), "-f", "emqx", cwd=tmp_path)

    assert from_yaml.returncode == 0, from_yaml.stderr
    assert from_yaml.stdout == from_json.stdout
    assert from_yaml.stdout.rstrip().endswith("{deny, all}.")
