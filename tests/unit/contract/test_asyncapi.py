"""The AsyncAPI document: the contract's shape, validated against the official 3.0.0 schema.

``asyncapi-3.0.0.schema.json`` beside this file is ``schemas/3.0.0-without-$id.json`` of the
npm package ``@asyncapi/specs`` 6.11.1 (Apache-2.0, see ASYNCAPI-SCHEMA-NOTICE.txt).
"""

from __future__ import annotations

import json
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import jsonschema
import pytest
from pydantic import BaseModel, Field

import cosalette
from cosalette._topics import LIVENESS
from cosalette.mqtt import Payload
from cosalette.project import build_asyncapi
from cosalette.schema import consumer, temperature
from cosalette.testing import make_settings

SCHEMA = Path(__file__).with_name("asyncapi-3.0.0.schema.json")


@cache
def validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


class Position(BaseModel):
    x: float
    y: float


class Mode(Enum):
    ECO = "eco"
    BOOST = "boost"


class Reading(BaseModel):
    """A GPS reading."""

    where: Position
    celsius: float = Field(json_schema_extra=temperature("Outdoor"))
    mode: Mode = Field(json_schema_extra=consumer(icon="mdi:leaf", display_name="Mode"))


class Target(BaseModel):
    where: Position


class ValveState(BaseModel):
    open: bool


VALVE_STATE = {
    "properties": {"open": {"title": "Open", "type": "boolean"}},
    "required": ["open"],
    "title": "ValveState",
    "type": "object",
}


def make_app() -> cosalette.App:
    app = cosalette.App("tracker", "1.2.3", description="GPS tracker")

    @app.telemetry(
        "gps",
        interval=5,
        state_model=Reading,
        summary="Where it is.",
        behavior=["reads the receiver"],
        effects=["moves the map"],
    )
    async def gps() -> dict[str, object]:
        return {}

    @app.telemetry("tank", interval=5)
    async def tank() -> dict[str, float]:
        return {}

    @app.command("motor", payload_model=Target)
    async def motor(payload: Target) -> ValveState:
        return ValveState(open=True)

    @app.command("lamp")
    async def lamp(payload: str) -> None:
        pass

    @app.command("dimmer")
    async def dimmer(level: Annotated[int, Payload()]) -> dict[str, int]:
        return {}

    @app.device()
    async def hub(ctx: cosalette.DeviceContext) -> None:
        pass

    @app.periodic("cleanup", interval=60)
    async def cleanup() -> None:
        pass

    router = cosalette.Router(prefix="sensors", tags=["outdoor", "garden"])

    @router.telemetry("outdoor_temp", interval=5)
    async def outdoor() -> dict[str, float]:
        return {}

    app.include_router(router)
    return app


def test_document_is_valid_asyncapi_3_and_has_the_contract_top_level() -> None:
    doc = make_app().asyncapi()
    assert [e.message for e in validator().iter_errors(doc)] == []
    assert list(doc) == ["asyncapi", "info", "channels", "operations", "components"]
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"] == {
        "title": "tracker",
        "version": "1.2.3",
        "x-cosalette-contract-version": "1",
        "x-cosalette-liveness": LIVENESS.format(status="tracker/status"),
    }
    assert "tracker/status is the bridge's liveness" in doc["info"]["x-cosalette-liveness"]
    for section in (doc["channels"], doc["operations"], doc["components"]["schemas"]):
        assert list(section) == sorted(section)


def test_channels_and_operations_are_named_by_the_contract() -> None:
    doc = make_app().asyncapi()
    assert {cid: c["address"] for cid, c in doc["channels"].items()} == {
        "dimmerCommand": "tracker/dimmer/set",
        "dimmerState": "tracker/dimmer/state",
        "gpsState": "tracker/gps/state",
        "hubState": "tracker/state",  # a root device keeps its function's name as id
        "lampCommand": "tracker/lamp/set",  # None return: no state channel
        "motorCommand": "tracker/motor/set",
        "motorState": "tracker/motor/state",
        "sensorsOutdoorTempState": "tracker/sensors/outdoor_temp/state",
        "tankState": "tracker/tank/state",
    }
    assert {k: (op["action"], op["channel"]["$ref"]) for k, op in doc["operations"].items()} == {
        "publishDimmerState": ("send", "#/channels/dimmerState"),
        "publishGpsState": ("send", "#/channels/gpsState"),
        "publishHubState": ("send", "#/channels/hubState"),
        "publishMotorState": ("send", "#/channels/motorState"),
        "publishSensorsOutdoorTempState": ("send", "#/channels/sensorsOutdoorTempState"),
        "publishTankState": ("send", "#/channels/tankState"),
        "receiveDimmerCommand": ("receive", "#/channels/dimmerCommand"),
        "receiveLampCommand": ("receive", "#/channels/lampCommand"),
        "receiveMotorCommand": ("receive", "#/channels/motorCommand"),
    }
    assert not any("cleanup" in cid for cid in doc["channels"])  # periodic: no channel


def test_channel_keys_order_and_metadata() -> None:
    doc = make_app().asyncapi()
    gps = doc["channels"]["gpsState"]
    assert list(gps) == [
        "address",
        "x-cosalette-app",
        "messages",
        "x-cosalette-archetype",
        "x-cosalette-summary",
        "x-cosalette-behavior",
        "x-cosalette-effects",
    ]
    assert gps["x-cosalette-app"] == "tracker"
    assert gps["x-cosalette-archetype"] == "telemetry"
    assert gps["x-cosalette-behavior"] == ["reads the receiver"]
    assert doc["operations"]["publishGpsState"] == {
        "action": "send",
        "channel": {"$ref": "#/channels/gpsState"},
        "summary": "Where it is.",
    }
    outdoor = doc["channels"]["sensorsOutdoorTempState"]
    assert outdoor["tags"] == [{"name": "garden"}, {"name": "outdoor"}]
    assert doc["operations"]["publishSensorsOutdoorTempState"]["tags"] == outdoor["tags"]
    assert doc["channels"]["motorState"]["x-cosalette-archetype"] == "command"
    assert doc["channels"]["hubState"]["x-cosalette-archetype"] == "device"
    assert "bindings" not in json.dumps(doc)


def payload(doc: dict[str, Any], cid: str) -> dict[str, Any]:
    found: dict[str, Any] = doc["channels"][cid]["messages"]["message"]["payload"]
    return found


def test_payload_schemas_follow_the_inference_order() -> None:
    doc = make_app().asyncapi()
    assert payload(doc, "motorCommand") == {  # the model inline, nested models as refs
        "properties": {"where": {"$ref": "#/components/schemas/Position"}},
        "required": ["where"],
        "title": "Target",
        "type": "object",
    }
    assert payload(doc, "dimmerCommand") == {"type": "integer"}  # Annotated[int, Payload()]
    assert payload(doc, "lampCommand") == {"type": "object"}  # payload: str
    assert payload(doc, "motorState")["title"] == "ValveState"
    assert payload(doc, "tankState") == {
        "additionalProperties": {"type": "number"},
        "type": "object",
    }
    assert payload(doc, "hubState") == {"type": "object"}  # None return
    assert set(doc["components"]["schemas"]) == {"Mode", "Position"}
    assert "$defs" not in json.dumps(doc)


def test_state_schema_validates_and_keeps_consumer_call_order() -> None:
    doc = make_app().asyncapi()
    schema = {**payload(doc, "gpsState"), "components": doc["components"]}
    jsonschema.validate({"where": {"x": 1, "y": 2}, "celsius": 3.5, "mode": "eco"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"where": {"x": "north"}, "celsius": 1, "mode": "eco"}, schema)
    props = payload(doc, "gpsState")["properties"]
    assert list(props["celsius"]["x-cosalette-consumer"]) == [
        "display_name",
        "device_class",
        "unit",
        "state_class",
    ]
    assert list(props["mode"]["x-cosalette-consumer"]) == ["icon", "display_name"]
    assert props["celsius"]["x-cosalette-consumer"]["unit"] == "°C"
    assert list(props["celsius"]) == ["title", "type", "x-cosalette-consumer"]  # sorted keys


def test_no_channels_means_no_channels_or_operations() -> None:
    doc = cosalette.App("empty", "0.1").asyncapi()
    assert doc == {
        "asyncapi": "3.0.0",
        "info": {
            "title": "empty",
            "version": "0.1",
            "x-cosalette-contract-version": "1",
            "x-cosalette-liveness": LIVENESS.format(status="empty/status"),
        },
    }
    assert list(validator().iter_errors(doc)) == []


def test_a_taken_state_id_merges_payloads_and_keeps_the_first_metadata() -> None:
    app = cosalette.App("m", "1")
    readings = cosalette.Router(prefix="a")
    commands = cosalette.Router(prefix="b")

    @readings.telemetry("b_c", interval=5, summary="first")
    async def reading() -> dict[str, float]:
        return {}

    @commands.command("c", summary="command")
    async def valve(payload: str) -> ValveState:
        return ValveState(open=True)

    app.include_router(readings)
    app.include_router(commands, prefix="a")
    doc = app.asyncapi()
    state = doc["channels"]["aBCState"]  # a/b_c and a/b/c share the id
    assert state["address"] == "m/a/b_c/state"
    assert state["x-cosalette-archetype"] == "telemetry"
    assert state["x-cosalette-summary"] == "first"
    assert payload(doc, "aBCState") == {
        "oneOf": [
            {"additionalProperties": {"type": "number"}, "type": "object"},
            VALVE_STATE,
        ]
    }
    assert doc["operations"]["publishABCState"]["summary"] == "first"
    assert doc["channels"]["aBCCommand"]["address"] == "m/a/b/c/set"


def test_same_named_commands_set_channel_carries_the_last_registration() -> None:
    app = cosalette.App("m", "1")

    async def on(payload: str) -> ValveState:
        return ValveState(open=True)

    async def off(payload: str) -> ValveState:
        return ValveState(open=False)

    app.add_command("valve", on, sub="on", summary="open it")
    app.add_command("valve", off, sub="off", summary="close it")
    doc = app.asyncapi()
    assert doc["channels"]["valveCommand"]["x-cosalette-summary"] == "close it"
    assert doc["operations"]["receiveValveCommand"]["summary"] == "close it"
    assert doc["channels"]["valveState"]["x-cosalette-summary"] == "open it"
    assert payload(doc, "valveState") == VALVE_STATE


def test_pascal_and_channel_id_rules() -> None:
    from cosalette._contract.asyncapi import channel_id, pascal

    assert channel_id("gas_counter") == "gas_counter"
    assert channel_id("my-dev") == "my-dev"
    assert channel_id("sensors/outdoor_temp") == "sensorsOutdoorTemp"
    assert pascal("living_room") == "LivingRoom"
    assert pascal("livingRoom") == "Livingroom"
    assert pascal("my-dev") == "My-dev"
    assert pascal("sensors/outdoor_temp") == "SensorsOutdoorTemp"


def test_settings_expand_dynamic_names_and_use_the_topic_prefix() -> None:
    app = cosalette.App("multi", "1")

    @app.telemetry(name=lambda s: ["p1", "p2"], interval=5)
    async def probe() -> dict[str, float]:
        return {}

    @app.telemetry("gone", interval=5, enabled=lambda s: False)
    async def gone() -> dict[str, float]:
        return {}

    plain = app.asyncapi()
    # a name= callable is named by its handler's qualified name; a callable enabled= is kept
    assert sorted(plain["channels"]) == ["goneState", f"{probe.__qualname__}State"]
    resolved = build_asyncapi(app, make_settings(mqtt={"topic_prefix": "site"}))
    assert {cid: c["address"] for cid, c in resolved["channels"].items()} == {
        "p1State": "site/p1/state",
        "p2State": "site/p2/state",
    }
    assert resolved["channels"]["p1State"]["x-cosalette-app"] == "site"  # the topic root


def test_app_asyncapi_is_cached_deterministic_and_cleared_by_a_change() -> None:
    app = cosalette.App("cached", "1", store=None)

    async def read() -> dict[str, object]:
        return {}

    app.add_telemetry("meter", read, interval=60)
    document = app.asyncapi()
    assert app.asyncapi() is document
    assert document == build_asyncapi(app) == make_app_copy(app)
    app.add_telemetry("other", read, interval=60)
    assert app.asyncapi() is not document
    assert "otherState" in app.asyncapi()["channels"]


def make_app_copy(app: cosalette.App) -> dict[str, Any]:
    """The document of a second, identical build: the builder is deterministic."""
    copied: dict[str, Any] = json.loads(json.dumps(build_asyncapi(app)))
    return copied
