"""The documented Home Assistant discovery options (tests/data) and ``config_problems``."""

from __future__ import annotations

from typing import Any

import pytest
from ha_options import COMPONENTS, OPTIONS, component_options, config_problems

BRIEF_KEYS = {  # what every check relies on being recorded
    "common": [
        "availability", "availability_mode", "device", "origin", "unique_id", "object_id",
        "default_entity_id", "name", "qos", "enabled_by_default", "entity_category",
    ],
    "sensor": [
        "state_topic", "value_template", "device_class", "unit_of_measurement", "state_class",
        "icon", "expire_after",
    ],
    "binary_sensor": ["state_topic", "value_template", "payload_on", "payload_off", "expire_after"],
    "switch": [
        "state_topic", "command_topic", "command_template", "payload_on", "payload_off",
        "state_on", "state_off", "retain",
    ],
    "number": ["command_topic", "state_topic", "min", "max", "step", "mode", "retain"],
    "select": ["command_topic", "state_topic", "options", "retain"],
    "text": ["command_topic", "state_topic", "min", "max", "mode", "retain"],
    "button": ["command_topic", "command_template", "payload_press", "retain"],
}  # fmt: skip


def test_the_data_names_its_sources_and_every_emitted_component() -> None:
    assert set(COMPONENTS) == {
        "sensor", "binary_sensor", "switch", "number", "select", "text", "button",
    }  # fmt: skip
    pages = OPTIONS["source"]["pages"]
    assert all(p.startswith("https://www.home-assistant.io/integrations/") for p in pages)
    assert {p.split("/")[4] for p in pages} >= {f"{c}.mqtt" for c in COMPONENTS}
    for component in COMPONENTS:
        options = component_options(component)
        for key in BRIEF_KEYS["common"] + BRIEF_KEYS[component]:
            assert key in options, (component, key)
    assert set(OPTIONS["nested"]["availability"]) == {
        "topic", "value_template", "payload_available", "payload_not_available",
    }  # fmt: skip
    assert {"identifiers", "name", "manufacturer", "sw_version"} <= set(OPTIONS["nested"]["device"])
    assert set(OPTIONS["nested"]["origin"]) == {"name", "sw_version", "support_url"}


def test_a_good_config_has_no_problems() -> None:
    config: dict[str, Any] = {
        "name": None,
        "unique_id": "u",
        "object_id": "o",
        "default_entity_id": "sensor.o",
        "state_topic": "a/b/state",
        "value_template": "{{ value_json.x }}",
        "device_class": "temperature",
        "unit_of_measurement": "°C",
        "state_class": "measurement",
        "icon": "mdi:thermometer",
        "expire_after": 60,
        "availability": [{"topic": "a/status", "value_template": "{{ value }}"}, {"topic": "t"}],
        "availability_mode": "all",
        "device": {"identifiers": ["x"], "name": "n", "manufacturer": "m", "sw_version": "1"},
        "origin": {"name": "cosalette", "sw_version": "0.1", "support_url": "https://x"},
        "qos": 1,
        "enabled_by_default": False,
        "entity_category": "diagnostic",
    }
    assert config_problems("sensor", config) == []
    assert config_problems("number", {"min": 0, "max": 1.5, "step": 0.1}) == []
    assert config_problems("select", {"options": ["a", "b"], "command_topic": "c"}) == []
    assert config_problems("sensor", {"device": {"identifiers": "single"}}) == []


@pytest.mark.parametrize(
    ("component", "config", "problems"),
    [
        ("number", {"state_class": "measurement"}, ["number: unknown key 'state_class'"]),
        ("binary_sensor", {"unit_of_measurement": "%"}, ["binary_sensor: unknown key 'unit_of_measurement'"]),
        ("button", {"state_topic": "x"}, ["button: unknown key 'state_topic'"]),
        ("sensor", {"expire_after": "60"}, ["sensor: 'expire_after' must be integer, got '60'"]),
        ("sensor", {"expire_after": True}, ["sensor: 'expire_after' must be integer, got True"]),
        ("number", {"min": False}, ["number: 'min' must be float, got False"]),
        ("switch", {"retain": "yes"}, ["switch: 'retain' must be boolean, got 'yes'"]),
        ("sensor", {"icon": "thermometer"}, ["sensor: 'icon' must be icon, got 'thermometer'"]),
        ("sensor", {"name": 3}, ["sensor: 'name' must be string, got 3"]),
        ("sensor", {"state_topic": None}, ["sensor: 'state_topic' must be string, got None"]),
        ("select", {"options": "a,b"}, ["select: 'options' must be list, got 'a,b'"]),
        ("select", {"options": ["a", 2]}, ["select: 'options[1]' must be string, got 2"]),
        ("sensor", {"availability": {"topic": "t"}}, ["sensor: 'availability' must be list, got {'topic': 't'}"]),
        ("sensor", {"availability": [{"topic": 1, "qos": 1}]}, [
            "sensor: 'availability[0].topic' must be string, got 1",
            "sensor: unknown key 'availability[0].qos'",
        ]),
        ("sensor", {"device": {"identifiers": [1], "model": None, "colour": "red"}}, [
            "sensor: 'device.identifiers[0]' must be string, got 1",
            "sensor: 'device.model' must be string, got None",
            "sensor: unknown key 'device.colour'",
        ]),
        ("sensor", {"origin": {"name": "x", "url": "u"}}, ["sensor: unknown key 'origin.url'"]),
        ("light", {}, ["unknown component 'light' (known: sensor, binary_sensor, switch, number, select, text, button)"]),
    ],
)  # fmt: skip
def test_problems_are_named(component: str, config: dict[str, Any], problems: list[str]) -> None:
    assert config_problems(component, config) == problems
