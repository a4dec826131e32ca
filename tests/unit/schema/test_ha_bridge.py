"""The discovery configs a running bridge announces (defaults, command entities, availability)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from ha_options import config_problems
from pydantic import BaseModel, Field

import cosalette
from cosalette._contract.asyncapi import build_asyncapi
from cosalette._schema.ha_discovery import discovery_entities
from cosalette._wiring.announce import discovery_entities_for
from cosalette._wiring.resolve import resolve_registrations
from cosalette.mqtt import Payload
from cosalette.schema import consumer, temperature
from cosalette.testing import make_settings


class Reading(BaseModel):
    celsius: float = Field(json_schema_extra=temperature("Boiler"))
    humidity: float
    ok: bool


class ValveState(BaseModel):
    state: Literal["on", "off"] = Field(json_schema_extra=consumer(display_name="Valve"))


class DoorState(BaseModel):
    open: bool


class Level(BaseModel):
    level: float = Field(json_schema_extra={"x-cosalette-ha-discovery": {"component": "number"}})


def make_app() -> cosalette.App:
    app = cosalette.App("gas2mqtt", "1.4.0")

    @app.telemetry("boiler", interval=5, state_model=Reading)
    async def boiler() -> dict[str, object]:
        return {}

    @app.command("valve", state_model=ValveState)
    async def valve(payload: str) -> dict[str, object]:
        return {}

    @app.command("mode")
    async def mode(payload: Annotated[Literal["eco", "boost"], Payload()]) -> None:
        pass

    @app.command("door")
    async def door(payload: str) -> DoorState:
        return DoorState(open=True)

    @app.command("reboot")
    async def reboot() -> None:
        pass

    @app.command("label")
    async def label(payload: str) -> None:
        pass

    @app.telemetry("tank", interval=5, state_model=Level)
    async def tank() -> dict[str, object]:
        return {}

    for name in ("indoor", "outdoor"):
        router = cosalette.Router(prefix="sensors")

        async def read() -> dict[str, float]:
            return {}

        router.add_telemetry(name, read, interval=5, state_model=DoorState)
        app.include_router(router)
    return app


def entities(app: cosalette.App, **settings: Any) -> dict[str, dict[str, Any]]:
    configured = make_settings(**settings)
    doc = build_asyncapi(app, configured)
    described = app.describe(configured)
    regs = resolve_registrations(described.registrations, configured)
    prefix = configured.mqtt.topic_prefix or app.name
    found = discovery_entities_for(
        doc,
        regs.commands,
        prefix=prefix,
        ha_prefix=configured.homeassistant.prefix,
        app_version=app.version,
    )
    return {e["topic"]: e["config"] for e in found}


def test_every_state_field_and_every_command_is_an_entity() -> None:
    assert sorted(entities(make_app())) == [
        "homeassistant/binary_sensor/gas2mqtt/boiler_ok/config",
        "homeassistant/binary_sensor/gas2mqtt/sensors_indoor_open/config",
        "homeassistant/binary_sensor/gas2mqtt/sensors_outdoor_open/config",
        "homeassistant/button/gas2mqtt/reboot_command/config",
        "homeassistant/number/gas2mqtt/tank_level/config",  # the override wins
        "homeassistant/select/gas2mqtt/mode_command/config",
        "homeassistant/sensor/gas2mqtt/boiler_celsius/config",
        "homeassistant/sensor/gas2mqtt/boiler_humidity/config",
        "homeassistant/switch/gas2mqtt/door_open/config",
        "homeassistant/switch/gas2mqtt/valve_state/config",
        "homeassistant/text/gas2mqtt/label_command/config",
    ]


@pytest.mark.parametrize("topic_prefix", ["", "site/gas"])
def test_every_config_passes_the_documented_options(topic_prefix: str) -> None:
    found = entities(make_app(), mqtt={"topic_prefix": topic_prefix})
    assert found
    for topic, config in found.items():
        assert config_problems(topic.split("/")[1], config) == [], topic


def test_consumer_fields_keep_the_cli_ids_and_metadata() -> None:
    app = make_app()
    cli = {e["topic"]: e["config"] for e in discovery_entities(app.asyncapi())}
    bridge = entities(app)
    celsius = "homeassistant/sensor/gas2mqtt/boiler_celsius/config"
    for key in ("name", "unique_id", "object_id", "state_topic", "value_template"):
        assert bridge[celsius][key] == cli[celsius][key]
    assert bridge[celsius]["unit_of_measurement"] == "°C"
    assert bridge[celsius]["device_class"] == "temperature"
    # the CLI shows the valve's state as a select; the bridge makes it a settable switch
    assert "homeassistant/select/gas2mqtt/valve_state/config" in cli
    valve = bridge["homeassistant/switch/gas2mqtt/valve_state/config"]
    assert (
        valve["unique_id"] == cli["homeassistant/select/gas2mqtt/valve_state/config"]["unique_id"]
    )


def test_fields_without_metadata_get_readable_names() -> None:
    humidity = entities(make_app())["homeassistant/sensor/gas2mqtt/boiler_humidity/config"]
    assert humidity["name"] == "boiler humidity"
    ok = entities(make_app())["homeassistant/binary_sensor/gas2mqtt/boiler_ok/config"]
    assert (ok["payload_on"], ok["payload_off"]) == ("True", "False")  # how JSON true renders
    assert humidity["value_template"] == "{{ value_json.humidity }}"
    assert "unit_of_measurement" not in humidity


def test_command_entities_show_and_set_their_state() -> None:
    found = entities(make_app())
    valve = found["homeassistant/switch/gas2mqtt/valve_state/config"]
    assert valve["state_topic"] == "gas2mqtt/valve/state"
    assert valve["command_topic"] == "gas2mqtt/valve/set"
    assert (valve["payload_on"], valve["payload_off"]) == ("on", "off")
    assert (valve["state_on"], valve["state_off"]) == ("on", "off")
    door = found["homeassistant/switch/gas2mqtt/door_open/config"]
    assert (door["state_on"], door["state_off"]) == ("True", "False")  # a JSON boolean
    mode = found["homeassistant/select/gas2mqtt/mode_command/config"]
    assert mode["options"] == ["eco", "boost"]
    assert "state_topic" not in mode
    reboot = found["homeassistant/button/gas2mqtt/reboot_command/config"]
    assert reboot["command_topic"] == "gas2mqtt/reboot/set"
    assert reboot["name"] == "reboot"


def test_availability_device_and_origin() -> None:
    config = entities(make_app(), mqtt={"topic_prefix": "site/gas"})
    valve = config["homeassistant/switch/site_gas/valve_state/config"]
    assert valve["availability"] == [
        {
            "topic": "site/gas/status",
            "value_template": "{{ 'offline' if value == 'offline' else 'online' }}",
        },
        {"topic": "site/gas/valve/availability"},
    ]
    assert valve["availability_mode"] == "all"
    assert valve["device"] == {
        "identifiers": ["cosalette_site_gas"],
        "name": "site/gas",
        "manufacturer": "cosalette",
        "sw_version": "1.4.0",
    }
    assert valve["origin"] == {"name": "cosalette", "sw_version": cosalette.__version__}
    assert valve["unique_id"] == "cosalette_site_gas_valve_state"


def test_nested_device_names_do_not_collide() -> None:
    found = entities(make_app())
    indoor = found["homeassistant/binary_sensor/gas2mqtt/sensors_indoor_open/config"]
    outdoor = found["homeassistant/binary_sensor/gas2mqtt/sensors_outdoor_open/config"]
    assert indoor["unique_id"] != outdoor["unique_id"]
    assert indoor["state_topic"] == "gas2mqtt/sensors/indoor/state"
    assert indoor["availability"][1] == {"topic": "gas2mqtt/sensors/indoor/availability"}


def test_discovery_prefix_changes_only_the_first_segment() -> None:
    found = entities(make_app(), homeassistant={"prefix": "ha"})
    assert "ha/switch/gas2mqtt/valve_state/config" in found
