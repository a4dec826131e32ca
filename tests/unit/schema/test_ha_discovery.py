"""``schema ha-discovery``: Home Assistant discovery configs from a schema file (contract 4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ha_options import config_problems

from cosalette._schema.document import load_schema, resolve_refs
from cosalette._schema.ha_discovery import (
    HA_FORMATS,
    channel_direction,
    channel_properties,
    config_topic,
    consumer_block,
    device_block,
    device_segment,
    discovery_entities,
    entity_ids,
    infer_component,
    render_entities,
    slug,
    value_template,
)

DATA = Path(__file__).parents[2] / "data" / "schemas"
DEVICE = {"identifiers": ["cosalette_gas2mqtt"], "name": "gas2mqtt", "manufacturer": "cosalette"}
COUNTER = "gas2mqtt/counter/state"


def _entity(component: str, object_id: str, **config: Any) -> dict[str, Any]:
    name = config.pop("name")
    return {
        "topic": f"homeassistant/{component}/gas2mqtt/{object_id}/config",
        "config": {
            "name": name,
            "unique_id": f"cosalette_gas2mqtt_{object_id}",
            "object_id": object_id,
            **config,
            "device": DEVICE,
        },
    }


GAS2MQTT = [
    _entity(
        "binary_sensor",
        "counter_battery_low",
        name="Battery low",
        state_topic=COUNTER,
        value_template="{{ value_json.battery_low }}",
        device_class="battery",
    ),
    _entity(
        "sensor",
        "counter_counter",
        name="Gas counter",
        state_topic=COUNTER,
        value_template="{{ value_json.counter }}",
        unit_of_measurement="m³",
        state_class="total_increasing",
        icon="mdi:counter",
        expire_after=3600,
    ),
    _entity(
        "sensor",
        "counter_firmware",
        name="Firmware",
        state_topic=COUNTER,
        value_template="{{ value_json.firmware }}",
    ),
    _entity(
        "sensor",
        "counter_pm2_5",
        name="Fine dust",
        state_topic=COUNTER,
        value_template="{{ value_json['pm2.5'] }}",
        device_class="pm25",
        unit_of_measurement="µg/m³",
        state_class="measurement",
    ),
    _entity(
        "sensor",
        "counter_temperature",
        name="Meter temperature",
        state_topic=COUNTER,
        value_template="{{ value_json.temperature }}",
        device_class="temperature",
        unit_of_measurement="°C",
        state_class="measurement",
    ),
    _entity(
        "number",
        "valve_level",
        name="Valve level",
        command_topic="gas2mqtt/valve/set",
        command_template='{"level": {{ value }}}',
        unit_of_measurement="%",
    ),
    _entity("select", "valve_mode", name="Mode", command_topic="gas2mqtt/valve/set"),
    _entity(
        "switch",
        "valve_open",
        name="Valve open",
        command_topic="gas2mqtt/valve/set",
        icon="mdi:valve",
    ),
    _entity("button", "valve_reset", name="Reset valve", command_topic="gas2mqtt/valve/set"),
    _entity(
        "number",
        "valve_level",
        name="Valve level",
        state_topic="gas2mqtt/valve/state",
        value_template="{{ value_json.level | round(1) }}",
        unit_of_measurement="%",
    ),
    _entity(
        "sensor",
        "valve_mode",
        name="Mode",
        state_topic="gas2mqtt/valve/state",
        value_template="{{ value_json.mode }}",
    ),
    _entity(
        "switch",
        "valve_open",
        name="Valve open",
        state_topic="gas2mqtt/valve/state",
        value_template="{{ value_json.open }}",
        icon="mdi:valve",
    ),
]


def _gas() -> dict[str, Any]:
    return load_schema(DATA / "gas2mqtt.yaml")


def _doc(channels: dict[str, Any], operations: dict[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"asyncapi": "3.0.0", "info": {"title": "t", "version": "1"}}
    doc["channels"] = channels
    doc["operations"] = operations or {}
    return doc


def _channel(address: str, props: dict[str, Any], **extra: Any) -> dict[str, Any]:
    payload = {"properties": props, "type": "object"}
    return {"address": address, "messages": {"message": {"payload": payload}}, **extra}


def _op(action: str, cid: str) -> dict[str, Any]:
    return {"action": action, "channel": {"$ref": f"#/channels/{cid}"}}


def test_gas2mqtt_entities_exactly_in_order() -> None:
    entities = discovery_entities(_gas())
    # json.dumps keeps key order, so this compares the order of every config's keys too.
    assert json.dumps(entities, ensure_ascii=False, indent=1) == json.dumps(
        GAS2MQTT, ensure_ascii=False, indent=1
    )


def test_contract_consequences_on_the_example() -> None:
    entities = discovery_entities(_gas())
    ids = [e["config"]["object_id"] for e in entities]
    assert "counter_status" not in ids  # enum: $ref + sibling consumer, replaced wholesale
    assert "counter_raw_pulses" not in ids  # no consumer block
    assert "counter_note" not in ids  # consumer() with nothing in it
    assert "counter_firmware" in ids  # Optional (anyOf, no type) counts as a string
    # /set and /state both carry `level`: two entries, same ids, no de-duplication.
    levels = [e for e in entities if e["config"]["object_id"] == "valve_level"]
    assert [e["config"]["unique_id"] for e in levels] == ["cosalette_gas2mqtt_valve_level"] * 2
    assert [("state_topic" in e["config"]) for e in levels] == [False, True]


def test_every_emitted_config_is_documented_by_home_assistant() -> None:
    for name in ("gas2mqtt.yaml", "network.yaml"):
        for entity in discovery_entities(load_schema(DATA / name)):
            component = entity["topic"].split("/")[1]
            assert config_problems(component, entity["config"]) == [], entity


def test_device_blocks_are_new_objects_so_yaml_has_no_anchors() -> None:
    entities = discovery_entities(_gas())
    assert entities[0]["config"]["device"] is not entities[1]["config"]["device"]
    assert "&id" not in render_entities(entities, "yaml")


def test_json_escapes_non_ascii_and_yaml_writes_it_literally() -> None:
    entities = [e for e in discovery_entities(_gas()) if e["config"]["object_id"].endswith("ture")]
    text = render_entities(entities, "json")
    assert '"unit_of_measurement": "\\u00b0C"' in text
    assert text == json.dumps(entities, indent=2)
    assert render_entities(entities, "yaml") == (
        "- topic: homeassistant/sensor/gas2mqtt/counter_temperature/config\n"
        "  config:\n"
        "    name: Meter temperature\n"
        "    unique_id: cosalette_gas2mqtt_counter_temperature\n"
        "    object_id: counter_temperature\n"
        "    state_topic: gas2mqtt/counter/state\n"
        "    value_template: '{{ value_json.temperature }}'\n"
        "    device_class: temperature\n"
        "    unit_of_measurement: °C\n"
        "    state_class: measurement\n"
        "    device:\n"
        "      identifiers:\n"
        "      - cosalette_gas2mqtt\n"
        "      name: gas2mqtt\n"
        "      manufacturer: cosalette"
    )


def test_no_entities_is_an_empty_list_in_both_formats() -> None:
    doc = _doc({"a": _channel("x/a/state", {"v": {"type": "number"}})})
    assert discovery_entities(doc) == []
    assert render_entities([], "json") == "[]"
    assert render_entities([], "yaml") == "[]"


def test_unknown_format() -> None:
    assert HA_FORMATS == ("json", "yaml")
    with pytest.raises(ValueError, match=r"^Unknown format: xml\. Available: json, yaml$"):
        render_entities([], "xml")


def test_the_prefix_changes_only_the_first_topic_segment() -> None:
    topics = [e["topic"] for e in discovery_entities(_gas(), prefix="ha")]
    assert topics == [e["topic"].replace("homeassistant/", "ha/", 1) for e in GAS2MQTT]


def test_all_apps_channels_are_skipped_and_the_network_sorts_by_address() -> None:
    entities = discovery_entities(load_schema(DATA / "network.yaml"))
    assert [e["topic"] for e in entities] == [  # code-point order: "h" < "{"
        "homeassistant/sensor/boiler2mqtt/heating_floor_flow_temp/config",
        "homeassistant/binary_sensor/boiler2mqtt/heating_floor_pump_on/config",
        "homeassistant/sensor/boiler2mqtt/heating_wall_flow_temp/config",
        "homeassistant/binary_sensor/boiler2mqtt/heating_wall_pump_on/config",
        "homeassistant/number/boiler2mqtt/devicename_power/config",
        "homeassistant/sensor/meter2mqtt/gas_counter_counter/config",
        "homeassistant/sensor/meter2mqtt/sensors_celsius/config",
        "homeassistant/sensor/meter2mqtt/sensors_humidity/config",
        "homeassistant/sensor/meter2mqtt/state_total/config",
    ]
    burner = entities[4]["config"]
    assert burner["command_topic"] == "boiler2mqtt/{deviceName}/set"
    assert burner["device"]["name"] == "boiler2mqtt"


def test_config_rules_on_edge_cases() -> None:
    meta = {"x-cosalette-consumer": {"display_name": ""}}
    props = {
        "z": {"type": "number", **meta, "x-cosalette-ha-discovery": {"expire_after": 0}},
        "a": {
            "type": "string",
            "x-cosalette-consumer": {"read_only": True, "unit": "", "icon": None},
            "x-cosalette-ha-discovery": {
                "value_template": "",
                "command_template": "{{ value }}",
                "expire_after": None,
            },
        },
    }
    doc = _doc(
        {"dual": _channel("Some App/Dev-1", props)},
        {"p": _op("send", "dual"), "r": _op("receive", "dual")},
    )
    a, z = (e["config"] for e in discovery_entities(doc))
    assert a == {
        "name": "a",
        "unique_id": "cosalette_unknown_dev_1_a",
        "object_id": "dev_1_a",
        "state_topic": "Some App/Dev-1",
        "command_topic": "Some App/Dev-1",
        "value_template": "{{ value_json.a }}",
        "command_template": "{{ value }}",
        "device": {
            "identifiers": ["cosalette_unknown"],
            "name": "unknown",
            "manufacturer": "cosalette",
        },
    }
    assert z["name"] == "z" and z["expire_after"] == 0
    assert list(z) == [
        "name", "unique_id", "object_id", "state_topic", "command_topic", "value_template",
        "expire_after", "device",
    ]  # fmt: skip


def test_command_template_needs_a_command_topic() -> None:
    prop = {
        "type": "number",
        "x-cosalette-consumer": {"display_name": "L"},
        "x-cosalette-ha-discovery": {"command_template": "{{ value }}"},
    }
    doc = _doc(
        {"s": _channel("app/d/state", {"l": prop}, **{"x-cosalette-app": "app"})},
        {"p": _op("send", "s")},
    )
    (entity,) = discovery_entities(doc)
    assert "command_template" not in entity["config"]
    assert entity["config"]["state_topic"] == "app/d/state"


def test_a_model_or_none_payload_gives_no_entities() -> None:
    doc = _doc({})
    doc["components"] = {
        "schemas": {
            "M": {"properties": {"v": {"type": "number", "x-cosalette-consumer": {"unit": "W"}}}}
        }
    }
    payload = {"anyOf": [{"$ref": "#/components/schemas/M"}, {"type": "null"}]}
    doc["channels"]["m"] = {"address": "a/m/state", "messages": {"message": {"payload": payload}}}
    assert discovery_entities(doc) == []
    doc["channels"]["m"]["messages"]["message"]["payload"] = {"$ref": "#/components/schemas/M"}
    assert [e["config"]["unit_of_measurement"] for e in discovery_entities(doc)] == ["W"]


def test_channel_properties_merges_variants() -> None:
    def with_consumer(t: str) -> dict[str, Any]:
        return {"type": t}

    payload = {
        "properties": {"a": with_consumer("number")},
        "oneOf": [
            {"properties": {"a": with_consumer("string"), "b": with_consumer("string")}},
            {"allOf": [{"properties": {"c": with_consumer("boolean")}}]},
        ],
        "anyOf": [{"properties": {"b": with_consumer("integer"), "d": with_consumer("integer")}}],
        "allOf": [{"properties": {"e": with_consumer("number")}}],
    }
    channel = {"messages": {"first": {"payload": payload}, "second": {"payload": {}}}}
    props = channel_properties({}, channel)
    assert props == {
        "a": {"type": "number"},
        "b": {"type": "string"},
        "c": {"type": "boolean"},
        "d": {"type": "integer"},
        "e": {"type": "number"},
    }
    assert channel_properties({}, {"messages": {}}) == {}
    boolean_schemas = {"properties": {"t": True}, "anyOf": [{"properties": {"t": {"type": "x"}}}]}
    assert channel_properties({}, {"messages": {"m": {"payload": boolean_schemas}}}) == {
        "t": {"type": "x"}
    }
    assert channel_properties({}, {}) == {}


def test_channel_properties_stops_after_64_levels() -> None:
    def nest(depth: int) -> dict[str, Any]:
        node: dict[str, Any] = {"properties": {"deep": {"type": "number"}}}
        for _ in range(depth):
            node = {"oneOf": [node]}
        return node

    assert channel_properties({}, {"messages": {"m": {"payload": nest(64)}}}) != {}
    assert channel_properties({}, {"messages": {"m": {"payload": nest(65)}}}) == {}


def test_channel_properties_inlines_refs_of_a_raw_channel() -> None:
    doc = _gas()
    raw = doc["channels"]["counterState"]
    props = channel_properties(resolve_refs(doc), raw)
    assert props["status"] == {"enum": ["ok", "fault"], "title": "MeterStatus", "type": "string"}


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (None, None),
        ("text", None),
        ({}, None),
        ({"bogus": 1}, None),
        ({"display_name": None, "read_only": False}, None),
        ({"read_only": True, "bogus": 1}, {"read_only": True}),
        ({"unit": "°C", "display_name": "T"}, {"unit": "°C", "display_name": "T"}),
        ({"display_name": ""}, {"display_name": ""}),
    ],
)
def test_consumer_block(block: Any, expected: dict[str, Any] | None) -> None:
    schema = {"type": "number"} if block is None else {"x-cosalette-consumer": block}
    assert consumer_block(schema) == expected
    assert consumer_block("not a schema") is None


def test_channel_direction() -> None:
    doc = _gas()
    assert channel_direction(doc, "counterState") == "send"
    assert channel_direction(doc, "valveCommand") == "receive"
    both = _doc({"c": {}}, {"p": _op("send", "c"), "r": _op("receive", "c")})
    assert channel_direction(both, "c") == "both"
    assert channel_direction(_doc({"c": {}}), "c") == "send"
    resolved = resolve_refs(doc)
    assert channel_direction(resolved, "valveCommand") == "receive"
    assert channel_direction(resolved, "valveState") == "send"
    slashed = _doc(
        {"a/b": {}}, {"r": {"action": "receive", "channel": {"$ref": "#/channels/a~1b"}}}
    )
    assert channel_direction(slashed, "a/b") == "receive"


def test_slug() -> None:
    assert slug("Gas2MQTT") == "gas2mqtt"
    assert slug("__a--b__") == "a_b"
    assert slug("pm2.5") == "pm2_5"
    assert slug("Wärme Zähler") == "w_rme_z_hler"
    assert slug("my-app") == "my_app"
    assert slug("---") == ""


def test_ids_and_topics() -> None:
    assert device_segment("boiler2mqtt/heating_floor/state") == "heating_floor"
    assert device_segment("a/b/c/state") == "b"
    assert device_segment("my-app/state") == "state"
    assert device_segment("single") == "single"
    assert entity_ids("My-App", "my-app/Living Room/state", "Temp.C") == (
        "living_room_temp_c",
        "cosalette_my_app_living_room_temp_c",
    )
    assert config_topic("ha", "sensor", "My App", "x_y") == "ha/sensor/my_app/x_y/config"
    assert device_block("My App") == {
        "identifiers": ["cosalette_my_app"],
        "name": "My App",
        "manufacturer": "cosalette",
    }
    assert device_block("a") is not device_block("a")


@pytest.mark.parametrize(
    ("prop", "template"),
    [
        ("celsius", "{{ value_json.celsius }}"),
        ("_private2", "{{ value_json._private2 }}"),
        ("pm2.5", "{{ value_json['pm2.5'] }}"),
        ("2nd", "{{ value_json['2nd'] }}"),
        ("it's", "{{ value_json['it\\'s'] }}"),
        ("back\\slash", "{{ value_json['back\\\\slash'] }}"),
        ("trailing\n", "{{ value_json['trailing\n'] }}"),
        ("grün", "{{ value_json['grün'] }}"),
    ],
)
def test_value_template(prop: str, template: str) -> None:
    assert value_template(prop) == template


@pytest.mark.parametrize(
    ("archetype", "schema", "override", "component"),
    [
        ("telemetry", {"type": "number"}, None, "sensor"),
        ("telemetry", {"type": "integer"}, None, "sensor"),
        ("telemetry", {"type": "string", "enum": ["a"]}, None, "sensor"),
        ("telemetry", {"type": "boolean"}, None, "binary_sensor"),
        ("device", {"type": "integer"}, None, "sensor"),
        ("device", {"type": "boolean"}, None, "binary_sensor"),
        ("telemetry", {"anyOf": [{"type": "number"}, {"type": "null"}]}, None, "sensor"),
        ("command", {"type": "number"}, None, "number"),
        ("command", {"type": "integer"}, None, "number"),
        ("command", {"type": "string"}, None, "sensor"),
        ("command", {"type": "string", "enum": ["a", "b"]}, None, "select"),
        ("command", {"enum": ["a", "b"]}, None, "select"),  # no type counts as string
        ("command", {"anyOf": [{"type": "string"}]}, None, "sensor"),
        ("command", {"type": "boolean"}, None, "switch"),
        ("command", {"type": "object"}, None, "sensor"),
        ("command", {"type": ["number", "null"]}, None, "sensor"),
        (None, {"type": "boolean"}, None, "sensor"),
        ("other", {"type": "number"}, None, "sensor"),
        ("telemetry", {"type": "number"}, {"component": "number"}, "number"),
        ("command", {"type": "boolean"}, {"component": ""}, "switch"),
        ("command", {"type": "boolean"}, {}, "switch"),
    ],
)
def test_infer_component(
    archetype: str | None, schema: dict[str, Any], override: dict[str, Any] | None, component: str
) -> None:
    assert infer_component(archetype, schema, override) == component
