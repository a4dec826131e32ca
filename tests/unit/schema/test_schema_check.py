"""``schema check``: an app's registered names against a schema file (contract 3.4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cosalette._schema.check import check_report, schema_devices
from cosalette._schema.document import load_schema

DATA = Path(__file__).parents[2] / "data" / "schemas"


def _network() -> dict[str, Any]:
    return load_schema(DATA / "network.yaml")


def _doc(*addresses: str, **channel: Any) -> dict[str, Any]:
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "app", "version": "0.1.0"},
        "channels": {
            f"c{i}": {"address": a, "x-cosalette-archetype": "telemetry", **channel}
            for i, a in enumerate(addresses)
        },
    }


def test_schema_devices() -> None:
    assert schema_devices(load_schema(DATA / "gas2mqtt.yaml")) == {"counter", "valve"}
    assert schema_devices(_network()) == {
        "burner",  # {deviceName} with an enum
        "pump",
        "gas_counter",
        "heating_floor",
        "heating_wall",
        "sensors/outdoor_temp",  # app/a/b/sfx -> a/b
    }  # root channels (meter2mqtt/state) and the all_apps ones yield none
    no_archetype = {"channels": {"c": {"address": "app/dev/state"}}}
    assert schema_devices(no_archetype) == set()
    assert schema_devices(_doc("app/{deviceName}/state")) == set()


def test_all_compliant_single_app() -> None:
    text, code = check_report(
        load_schema(DATA / "gas2mqtt.yaml"),
        schema_path="docs/schema.yaml",
        app_name="gas2mqtt",
        registered=["valve", "counter"],
    )
    assert code == 0
    assert text == (
        "Schema: docs/schema.yaml (v1.4.2)\n"
        "App:    gas2mqtt\n"
        "\n"
        "✓ counter — OK\n"
        "✓ valve — OK\n"
        "\n"
        "Result: 0 violations, 2 compliant\n"
        "Exit code: 0"
    )


def test_extras_alone_do_not_fail() -> None:
    text, code = check_report(
        load_schema(DATA / "gas2mqtt.yaml"),
        schema_path="s.yaml",
        app_name="gas2mqtt",
        registered=("counter", "valve", "cleanup", "counter"),
    )
    assert code == 0
    assert text.split("\n")[3:] == [
        "⚠ cleanup — EXTRA",
        "  Registered by the app but not in the schema.",
        "✓ counter — OK",
        "✓ valve — OK",
        "",
        "Result: 1 extra, 2 compliant",
        "Exit code: 0",
    ]


def test_network_check_filters_to_the_app_and_reports_violations() -> None:
    text, code = check_report(
        _network(),
        schema_path="network.yaml",
        app_name="boiler2mqtt",
        registered=["burner", "heating_floor", "poll_stats"],
    )
    assert code == 1
    assert text == (
        "Schema: network.yaml (v2.1.0)\n"
        "App:    boiler2mqtt\n"
        "\n"
        "✗ heating_wall — MISSING\n"
        "  Declared in the schema but not registered.\n"
        "\n"
        "✗ pump — MISSING\n"
        "  Declared in the schema but not registered.\n"
        "\n"
        "✗ cosalette/announce — SCOPE VIOLATION\n"
        "  x-cosalette-scope: all_apps is allowed only on status and availability channels.\n"
        "\n"
        "✓ burner — OK\n"
        "✓ heating_floor — OK\n"
        "⚠ poll_stats — EXTRA\n"
        "  Registered by the app but not in the schema.\n"
        "\n"
        "Result: 3 violations, 1 extra, 2 compliant\n"
        "Exit code: 1"
    )


def test_violations_without_extras_and_nothing_registered() -> None:
    text, code = check_report(
        _network(), schema_path="n.yaml", app_name="meter2mqtt", registered=[]
    )
    assert code == 1
    assert text.split("\n")[3:] == [
        "✗ gas_counter — MISSING",
        "  Declared in the schema but not registered.",
        "",
        "✗ sensors/outdoor_temp — MISSING",
        "  Declared in the schema but not registered.",
        "",
        "✗ cosalette/announce — SCOPE VIOLATION",
        "  x-cosalette-scope: all_apps is allowed only on status and availability channels.",
        "",
        "Result: 3 violations, 0 compliant",
        "Exit code: 1",
    ]


def test_an_app_of_no_channels_in_an_empty_schema() -> None:
    text, code = check_report(_doc(), schema_path="s", app_name="x", registered=[])
    assert (text, code) == (
        "Schema: s (v0.1.0)\nApp:    x\n\nResult: 0 violations, 0 compliant\nExit code: 0",
        0,
    )


def test_status_and_availability_may_be_all_apps() -> None:
    doc = _doc("x/status", "x/dev/availability", "x/statuses", **{"x-cosalette-scope": "all_apps"})
    text, code = check_report(doc, schema_path="s", app_name="x", registered=["dev"])
    assert code == 1
    assert "✗ x/statuses — SCOPE VIOLATION" in text.split("\n")
    assert "✓ dev — OK" in text.split("\n")
    assert text.count("SCOPE VIOLATION") == 1


def test_a_device_template_without_enum_accepts_matching_names() -> None:
    doc = _doc("app/{deviceName}/state", "app/rooms/{deviceName}/state")
    text, code = check_report(
        doc, schema_path="s", app_name="app", registered=["kitchen", "rooms/attic", "a/b/c"]
    )
    assert code == 0
    assert text.split("\n")[3:6] == [
        "⚠ a/b/c — EXTRA",
        "  Registered by the app but not in the schema.",
        "✓ kitchen — OK",
    ]
    assert "✓ rooms/attic — OK" in text.split("\n")


def test_an_app_a_network_schema_does_not_list_fails_the_gate() -> None:
    import pytest

    with pytest.raises(ValueError, match=r"App 'stranger' not found in schema\. Available apps: "):
        check_report(_network(), schema_path="n.yaml", app_name="stranger", registered=["x"])
