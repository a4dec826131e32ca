"""`python -m cosalette schema …` commands that read a schema file (validate, check, slice, acl,
ha-discovery, openhab), run as real subprocesses in temp directories."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml
from _pymain import FAILED, run, write_app

HINT = "Hint: Install schema dependencies with: pip install cosalette[schema]"

# Two apps; meter2mqtt has the app's gas_counter and a water_counter the app lacks.
NETWORK = """
asyncapi: 3.0.0
info:
  title: home
  version: 2.0.0
x-cosalette-enforcement:
  mode: warn
  network_level: true
channels:
  gasState:
    address: meter2mqtt/gas_counter/state
    x-cosalette-app: meter2mqtt
    x-cosalette-archetype: telemetry
    messages:
      message:
        payload:
          type: object
  boilerState:
    address: boiler2mqtt/heating/state
    x-cosalette-app: boiler2mqtt
    x-cosalette-archetype: telemetry
    messages:
      message:
        payload:
          type: object
operations:
  publishGasState:
    action: send
    channel:
      $ref: '#/channels/gasState'
"""

WATER = {
    "address": "meter2mqtt/water_counter/state",
    "x-cosalette-app": "meter2mqtt",
    "x-cosalette-archetype": "telemetry",
    "messages": {"message": {"payload": {"type": "object"}}},
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A directory with the app (meterapp:app), its schema from `schema init` (schema.yaml)
    and a network-level schema (network.yaml)."""
    write_app(tmp_path)
    init = run("schema", "init", "--app", "meterapp:app", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    (tmp_path / "schema.yaml").write_text(init.stdout, encoding="utf-8")
    (tmp_path / "network.yaml").write_text(textwrap.dedent(NETWORK), encoding="utf-8")
    return tmp_path


def _with_water(project: Path, source: str) -> Path:
    """*source* plus a water_counter channel of meter2mqtt, which the app does not register."""
    document = yaml.safe_load((project / source).read_text(encoding="utf-8"))
    document["channels"]["water_counterState"] = WATER
    path = project / f"water-{source}"
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "utf-8")
    return path


# --------------------------------------------------------------------------- validate


def test_validate_summarises_a_single_app_schema(project: Path) -> None:
    result = run("schema", "validate", "schema.yaml", cwd=project)

    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "✅ Schema validated: meter2mqtt v1.2.0\n"
        "   AsyncAPI version: 3.0.0\n"
        "   Channels: 3\n"
        "   Schema type: single-app\n"
    )


def test_validate_summarises_a_network_level_schema(project: Path) -> None:
    result = run("schema", "validate", "network.yaml", cwd=project)

    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "✅ Schema validated: home v2.0.0\n"
        "   AsyncAPI version: 3.0.0\n"
        "   Channels: 2\n"
        "   Apps in network: 2\n"
        "   Schema type: network-level\n"
    )


# --------------------------------------------------------------------------- load errors


BROKEN = {
    "not-yaml.yaml": "asyncapi: [3.0.0\n",
    "a-list.yaml": "- asyncapi\n- 3.0.0\n",
    "old.yaml": "asyncapi: 2.6.0\ninfo: {title: x, version: '1'}\n",
    "bad-mode.yaml": "asyncapi: 3.0.0\nx-cosalette-enforcement: {mode: loud}\n",
    "bad-archetype.yaml": (
        "asyncapi: 3.0.0\nchannels:\n  a:\n    address: x/a/state\n"
        "    x-cosalette-archetype: gadget\n"
    ),
    "dangling-ref.yaml": (
        "asyncapi: 3.0.0\nchannels:\n  a:\n    address: x/a/state\n"
        "    messages: {message: {payload: {$ref: '#/components/schemas/Nope'}}}\n"
    ),
}


def _assert_load_error(stderr: str, path: Path) -> None:
    lines = stderr.splitlines()
    assert lines[0].startswith(f"Error: Failed to load schema from file://{path}"), stderr
    assert lines[-2:] == ["", HINT]
    assert stderr.endswith(HINT + "\n")
    assert "Traceback" not in stderr


PATH_COMMANDS = [
    ["validate"],
    ["acl"],
    ["ha-discovery"],
    ["openhab"],
    ["slice", "--app", "meter2mqtt", "--network"],
    ["check", "--app", "meterapp:app", "--schema"],
]


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_validate_reports_why_a_schema_fails_to_load(project: Path, name: str) -> None:
    (project / name).write_text(BROKEN[name], encoding="utf-8")

    result = run("schema", "validate", name, cwd=project)

    assert result.returncode == FAILED
    assert result.stdout == ""
    _assert_load_error(result.stderr, (project / name).resolve())


@pytest.mark.parametrize("command", PATH_COMMANDS, ids=lambda c: c[0])
def test_every_path_command_reports_a_schema_that_fails_to_load(
    project: Path, command: list[str]
) -> None:
    (project / "old.yaml").write_text(BROKEN["old.yaml"], encoding="utf-8")

    result = run("schema", *command, "old.yaml", cwd=project)

    assert result.returncode == FAILED
    assert result.stdout == ""
    _assert_load_error(result.stderr, (project / "old.yaml").resolve())
    assert "2.6.0" in result.stderr.splitlines()[0]


def test_several_load_problems_are_listed_as_bullets(project: Path) -> None:
    (project / "two.yaml").write_text(
        "asyncapi: 2.0.0\nx-cosalette-enforcement: {mode: loud}\n", encoding="utf-8"
    )

    result = run("schema", "validate", "two.yaml", cwd=project)

    assert result.returncode == FAILED
    headline, *bullets = result.stderr.split("\n\n")[0].splitlines()
    assert headline.endswith(" (2 errors):")
    assert len(bullets) == 2 and all(b.startswith("  - ") for b in bullets)


@pytest.mark.parametrize("command", ["acl", "ha-discovery", "openhab"])
def test_a_missing_file_is_a_load_error_where_the_path_is_not_checked(
    project: Path, command: str
) -> None:
    result = run("schema", command, "missing.yaml", cwd=project)

    assert result.returncode == FAILED
    assert result.stdout == ""
    _assert_load_error(result.stderr, (project / "missing.yaml").resolve())


# --------------------------------------------------------------------------- check


def test_check_passes_when_the_schema_matches_the_app(project: Path) -> None:
    result = run("schema", "check", "--app", "meterapp:app", "--schema", "schema.yaml", cwd=project)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == ["Schema: schema.yaml (v1.2.0)", "App:    meter2mqtt", ""]
    assert "✓ gas_counter — OK" in lines
    assert "✓ valve — OK" in lines
    assert "⚠ housekeeping — EXTRA" in lines  # a periodic task has no channel
    assert not any("MISSING" in line for line in lines)
    assert lines[-3:] == ["", "Result: 1 extra, 2 compliant", "Exit code: 0"]


def test_check_fails_when_the_schema_lists_a_device_the_app_lacks(project: Path) -> None:
    schema = _with_water(project, "schema.yaml")

    result = run("schema", "check", "--app", "meterapp:app", "--schema", schema.name, cwd=project)

    assert result.returncode == FAILED
    lines = result.stdout.splitlines()
    assert "✗ water_counter — MISSING" in lines
    assert "✓ gas_counter — OK" in lines
    assert lines[-2:] == ["Result: 1 violations, 1 extra, 2 compliant", "Exit code: 1"]


def test_check_filters_a_network_level_schema_to_the_app(project: Path) -> None:
    passing = run(
        "schema", "check", "--app", "meterapp:app", "--schema", "network.yaml", cwd=project
    )
    schema = _with_water(project, "network.yaml")
    failing = run("schema", "check", "--app", "meterapp:app", "--schema", schema.name, cwd=project)

    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "✓ gas_counter — OK" in passing.stdout.splitlines()
    assert "heating" not in passing.stdout  # boiler2mqtt's device is not this app's
    assert passing.stdout.endswith("Result: 2 extra, 1 compliant\nExit code: 0\n")
    assert failing.returncode == FAILED
    assert "✗ water_counter — MISSING" in failing.stdout.splitlines()


# --------------------------------------------------------------------------- slice


def test_slice_prints_one_apps_channels_without_operations(project: Path) -> None:
    result = run("schema", "slice", "--network", "network.yaml", "--app", "meter2mqtt", cwd=project)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("asyncapi: 3.0.0\ninfo:\n  title: meter2mqtt\n")
    document = yaml.safe_load(result.stdout)
    assert document["info"] == {"title": "meter2mqtt", "version": "2.0.0"}
    assert list(document["channels"]) == ["gasState"]
    assert document["channels"]["gasState"]["address"] == "meter2mqtt/gas_counter/state"
    assert "operations" not in document


def test_slice_names_the_available_apps_when_the_app_is_unknown(project: Path) -> None:
    result = run("schema", "slice", "--network", "network.yaml", "--app", "nope", cwd=project)

    assert result.returncode == FAILED
    assert result.stdout == ""
    assert result.stderr == (
        "Error: App 'nope' not found in schema. Available apps: boiler2mqtt, meter2mqtt\n"
    )


def test_slice_needs_a_network_level_schema(project: Path) -> None:
    result = run("schema", "slice", "--network", "schema.yaml", "--app", "meter2mqtt", cwd=project)

    assert result.returncode == FAILED
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ")
    assert "network_level" in result.stderr
    assert len(result.stderr.splitlines()) <= 2


# --------------------------------------------------------------------------- ha-discovery


def test_ha_discovery_prints_one_entity_per_consumer_property_as_json(project: Path) -> None:
    result = run("schema", "ha-discovery", "schema.yaml", cwd=project)

    assert result.returncode == 0, result.stderr
    entities = json.loads(result.stdout)
    assert result.stdout == json.dumps(entities, indent=2) + "\n"  # ASCII-escaped: \u00b0C
    assert [e["topic"] for e in entities] == [
        "homeassistant/sensor/meter2mqtt/gas_counter_celsius/config",
        "homeassistant/sensor/meter2mqtt/gas_counter_counter/config",
    ]
    assert entities[0]["config"] == {
        "name": "Meter temperature",
        "unique_id": "cosalette_meter2mqtt_gas_counter_celsius",
        "object_id": "gas_counter_celsius",
        "state_topic": "meter2mqtt/gas_counter/state",
        "value_template": "{{ value_json.celsius }}",
        "device_class": "temperature",
        "unit_of_measurement": "°C",
        "state_class": "measurement",
        "device": {
            "identifiers": ["cosalette_meter2mqtt"],
            "name": "meter2mqtt",
            "manufacturer": "cosalette",
        },
    }


def test_ha_discovery_prefix_and_yaml_format(project: Path) -> None:
    result = run("schema", "ha-discovery", "schema.yaml", "-p", "ha", "-f", "yaml", cwd=project)

    assert result.returncode == 0, result.stderr
    assert "unit_of_measurement: °C" in result.stdout
    entities = yaml.safe_load(result.stdout)
    assert [e["topic"].split("/")[0] for e in entities] == ["ha", "ha"]


def test_ha_discovery_rejects_an_unknown_format(project: Path) -> None:
    result = run("schema", "ha-discovery", "schema.yaml", "--format", "toml", cwd=project)

    assert result.returncode == FAILED
    assert result.stdout == ""
    assert result.stderr == "Unknown format: toml. Available: json, yaml\n"


# --------------------------------------------------------------------------- acl


@pytest.mark.parametrize(
    ("fmt", "marker"),
    [
        ("mosquitto", "# Broker: Mosquitto"),
        ("vernemq", "# Broker: VerneMQ"),
        ("emqx", "{deny, all}."),
        ("nanomq", "rules = ["),
        ("hivemq", "<file-rbac>"),
        ("rabbitmq", "rabbitmqctl set_topic_permissions"),
    ],
)
def test_acl_prints_each_broker_format(project: Path, fmt: str, marker: str) -> None:
    result = run("schema", "acl", "schema.yaml", "--format", fmt, cwd=project)

    assert result.returncode == 0, result.stderr
    assert marker in result.stdout
    assert "meter2mqtt" in result.stdout


def test_acl_defaults_to_mosquitto(project: Path) -> None:
    default = run("schema", "acl", "schema.yaml", cwd=project)
    short = run("schema", "acl", "schema.yaml", "-f", "mosquitto", cwd=project)

    assert default.returncode == 0, default.stderr
    assert default.stdout == short.stdout
    lines = default.stdout.splitlines()
    assert lines[:3] == ["# Generated by cosalette schema acl", "# Broker: Mosquitto", ""]
    assert "user deploy" in lines and "topic readwrite #" in lines
    assert "user meter2mqtt" in lines and "user monitor" in lines


def test_acl_rejects_an_unknown_format(project: Path) -> None:
    result = run("schema", "acl", "schema.yaml", "-f", "kafka", cwd=project)

    assert result.returncode == FAILED
    assert result.stdout == ""
    assert result.stderr == (
        "Unknown format: kafka. Available: emqx, hivemq, mosquitto, nanomq, rabbitmq, vernemq\n"
    )


# --------------------------------------------------------------------------- openhab


def test_openhab_prints_things_and_items_separated(project: Path) -> None:
    both = run("schema", "openhab", "schema.yaml", cwd=project)
    things = run("schema", "openhab", "schema.yaml", "-o", "things", "-b", "mosquitto", cwd=project)
    items = run("schema", "openhab", "schema.yaml", "--output", "items", cwd=project)

    for result in (both, things, items):
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("// Generated by cosalette schema openhab\n\n")
    assert "\n// ---\n\n// Generated by cosalette schema openhab\n" in both.stdout
    assert "mqtt:topic:mosquitto:meter2mqtt_gas_counter" in things.stdout
    assert "// ---" not in things.stdout and "// ---" not in items.stdout
    assert "Meter2Mqtt_GasCounter_Counter" in items.stdout


def test_openhab_rejects_an_unknown_output(project: Path) -> None:
    result = run("schema", "openhab", "schema.yaml", "-o", "rules", cwd=project)

    assert result.returncode == FAILED
    assert result.stdout == ""
    assert result.stderr == "Unknown output: rules. Available: things, items, both\n"
