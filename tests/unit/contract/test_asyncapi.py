"""The AsyncAPI document, validated against the official AsyncAPI 3.0.0 JSON Schema.

``asyncapi-3.0.0.schema.json`` beside this file is ``schemas/3.0.0-without-$id.json`` of the
npm package ``@asyncapi/specs`` 6.11.1 (Apache-2.0, see ASYNCAPI-SCHEMA-NOTICE.txt).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from _option_records import Options, with_options
from pydantic import BaseModel

import cosalette
from cosalette.project import build_asyncapi, build_manifest
from cosalette.testing import make_settings

SCHEMA = Path(__file__).with_name("asyncapi-3.0.0.schema.json")


@cache
def validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


class Position(BaseModel):
    x: float
    y: float


class Reading(BaseModel):
    """A GPS reading."""

    where: Position
    speed: float | None = None


class Target(BaseModel):
    where: Position


class Other:
    class Reading(BaseModel):  # same title as the outer Reading, different shape
        level: int


def make_app() -> cosalette.App:
    app = cosalette.App("tracker", "1.2.3", description="GPS tracker")

    @app.telemetry("gps", interval=5, state_model=Reading, summary="Where it is.")
    async def gps() -> dict[str, object]:
        return {}

    @app.telemetry("tank", interval=5, state_model=Other.Reading)
    async def tank() -> dict[str, object]:
        return {}

    @app.command("motor", payload_model=Target)
    async def motor(payload: Target) -> dict[str, object]:
        return {}

    @app.command("lamp")
    async def lamp(payload: str) -> dict[str, object]:
        return {}

    @app.device()
    async def hub(ctx: cosalette.DeviceContext) -> None:
        pass

    @app.telemetry(name=lambda s: ["p1", "p2"], interval=5)
    async def probe() -> dict[str, object]:
        return {}

    @app.periodic("cleanup", interval=60)
    async def cleanup() -> None:
        pass

    return app


def document(settings: bool = False) -> dict[str, Any]:
    app = make_app()
    return build_asyncapi(build_manifest(app, make_settings() if settings else None))


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def message_schema(doc: dict[str, Any], channel: str, message: str) -> dict[str, Any]:
    """A JSON Schema for one message's payload, resolving refs inside the document."""
    msg = resolve(doc, doc["channels"][channel]["messages"][message]["$ref"])
    return {**msg["payload"], "components": doc["components"]}


@pytest.mark.parametrize("settings", [False, True])
def test_document_is_valid_asyncapi_3(settings: bool) -> None:
    doc = document(settings)
    errors = [f"{list(e.path)}: {e.message}" for e in validator().iter_errors(doc)]
    assert errors == []
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"] == {"title": "tracker", "version": "1.2.3", "description": "GPS tracker"}
    assert doc["defaultContentType"] == "application/json"


def test_validator_rejects_a_broken_document() -> None:
    doc = document()
    operation = next(iter(doc["operations"].values()))
    operation["action"] = "publish"  # AsyncAPI 2 wording, not valid in 3.0
    assert list(validator().iter_errors(doc))


def test_every_reference_resolves() -> None:
    doc = document()
    found = list(refs(doc))
    assert len(found) > 20
    for ref in found:
        resolve(doc, ref)


def test_operations_send_what_the_app_publishes_and_receive_set() -> None:
    doc = document()
    actions: dict[str, str] = {}
    for op in doc["operations"].values():
        address = resolve(doc, op["channel"]["$ref"])["address"]
        actions[address] = op["action"]
        channel_messages = resolve(doc, op["channel"]["$ref"])["messages"]
        assert len(op["messages"]) == len(channel_messages)
    assert actions["tracker/gps/state"] == "send"
    assert actions["tracker/gps/availability"] == "send"
    assert actions["tracker/gps/error"] == "send"
    assert actions["tracker/motor/set"] == "receive"
    assert actions["tracker/set"] == "receive"  # the root device
    assert actions["tracker/status"] == "send"
    assert actions["tracker/error"] == "send"
    assert actions["tracker/{device}/state"] == "send"  # dynamic names are a parameter
    assert not any("cleanup" in address for address in actions)  # periodic: no MQTT


def test_state_payload_schema_comes_from_the_model() -> None:
    doc = document()
    schema = message_schema(doc, "gps_state", "state")
    jsonschema.validate({"where": {"x": 1.0, "y": 2.0}, "speed": None}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"where": {"x": "north"}}, schema)
    assert "Position" in doc["components"]["schemas"]  # $defs hoisted
    assert "$defs" not in json.dumps(doc)


def test_models_with_the_same_name_keep_their_own_schemas() -> None:
    doc = document()
    gps = message_schema(doc, "gps_state", "state")
    tank = message_schema(doc, "tank_state", "state")
    assert gps["$ref"] != tank["$ref"]
    jsonschema.validate({"level": 3}, tank)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"level": 3}, gps)


def test_command_payload_availability_error_and_status_schemas() -> None:
    doc = document()
    jsonschema.validate({"where": {"x": 0, "y": 0}}, message_schema(doc, "motor_set", "command"))
    lamp = message_schema(doc, "lamp_set", "command")
    jsonschema.validate("on", lamp)
    availability = message_schema(doc, "gps_availability", "availability")
    jsonschema.validate("online", availability)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate("maybe", availability)
    error = message_schema(doc, "app_error", "error")
    payload = {
        "error_type": "error",
        "message": "boom",
        "device": "gps",
        "timestamp": "2024-01-01T00:00:00+00:00",
        "details": {},
    }
    jsonschema.validate(payload, error)
    heartbeat = message_schema(doc, "app_status", "heartbeat")
    jsonschema.validate(
        {"status": "online", "uptime_s": 1.5, "version": "1.2.3", "devices": {}}, heartbeat
    )
    jsonschema.validate("offline", message_schema(doc, "app_status", "offline"))


# --------------------------------------------------------------------------- telemetry options


def options_document(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """tracker with gps cron+triggerable+retry (and a breaker, a timeout), tank in a group."""
    app = make_app()
    options: Options = {
        "gps": {
            "interval": 0.0,
            "schedule": cosalette.CronSchedule("0 0 6 ? * MON-FRI"),
            "triggerable": True,
            "retry": 3,
            "retry_on": (TimeoutError,),
            "backoff": cosalette.LinearBackoff(step=1.0, max_delay=30.0),
            "circuit_breaker": cosalette.CircuitBreaker(threshold=5),
            "timeout": 10.0,
        },
        "tank": {"group": "optolink"},
        "probe": {"triggerable": True, "payload_model": Target},
    }
    with_options(monkeypatch, app, options)
    return build_asyncapi(build_manifest(app))


def operation_on(doc: dict[str, Any], channel: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        op for op in doc["operations"].values() if op["channel"]["$ref"] == f"#/channels/{channel}"
    )
    return found


def test_document_with_telemetry_options_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = options_document(monkeypatch)
    errors = [f"{list(e.path)}: {e.message}" for e in validator().iter_errors(doc)]
    assert errors == []
    for ref in refs(doc):
        resolve(doc, ref)


def test_triggerable_telemetry_receives_on_its_set_channel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doc = options_document(monkeypatch)
    assert doc["channels"]["gps_set"]["address"] == "tracker/gps/set"
    assert list(doc["channels"]["gps_set"]["messages"]) == ["trigger"]
    op = operation_on(doc, "gps_set")
    assert op["action"] == "receive"
    assert op["bindings"]["mqtt"]["retain"] is False
    assert "gps" in op["summary"]
    assert "handle_gps_set" in doc["operations"]
    trigger = message_schema(doc, "gps_set", "trigger")
    for payload in ({"days": 3}, "now", ""):
        jsonschema.validate(payload, trigger)
    assert "TriggerPayload" in resolve(doc, trigger["$ref"])["description"]
    # a payload_model documents what the trigger accepts, like a command's
    typed = message_schema(doc, "probe_set", "trigger")
    jsonschema.validate({"where": {"x": 0, "y": 0}}, typed)
    assert doc["channels"]["probe_set"]["address"] == "tracker/{device}/set"


def test_schedule_retry_and_group_are_extensions_of_the_state_operation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doc = options_document(monkeypatch)
    gps = {k: v for k, v in operation_on(doc, "gps_state").items() if k.startswith("x-")}
    assert gps == {
        "x-cosalette-schedule": "0 0 6 ? * MON-FRI",
        "x-cosalette-triggerable": True,
        "x-cosalette-retry": {
            "attempts": 3,
            "on": ["TimeoutError"],
            "backoff": "LinearBackoff(step=1.0, max_delay=30.0)",
        },
        "x-cosalette-circuit-breaker": {"threshold": 5},
        "x-cosalette-timeout": 10.0,
    }
    assert operation_on(doc, "tank_state")["x-cosalette-group"] == "optolink"


def test_devices_without_options_have_no_extensions(monkeypatch: pytest.MonkeyPatch) -> None:
    assert document() == document()
    plain = document()
    assert not [k for op in plain["operations"].values() for k in op if k.startswith("x-")]
    doc = options_document(monkeypatch)
    assert not [k for k in operation_on(doc, "motor_set") if k.startswith("x-")]
    assert list(doc["channels"]["motor_set"]["messages"]) == ["command"]


def test_app_asyncapi_is_the_manifests_document_and_cached() -> None:
    import cosalette
    from cosalette.project import build_asyncapi as from_manifest, build_manifest

    app = cosalette.App("cached", store=None)

    async def read() -> dict[str, object]:
        return {}

    app.add_telemetry("meter", read, interval=60)
    document = app.asyncapi()
    assert document == from_manifest(build_manifest(app))
    assert app.asyncapi() is document  # cached
    app.add_telemetry("other", read, interval=60)
    assert app.asyncapi() is not document  # a new registration rebuilds it
    assert any("other" in address for address in _addresses(app.asyncapi()))


def _addresses(document: dict[str, object]) -> list[str]:
    channels = document.get("channels", {})
    assert isinstance(channels, dict)
    return [str(c.get("address")) for c in channels.values()]
