"""``schema slice``: one app's part of a network-level schema (contract 3.4)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from cosalette._schema.check import slice_app
from cosalette._schema.document import load_schema
from cosalette._schema.yaml_out import dump_yaml

DATA = Path(__file__).parents[2] / "data" / "schemas"


def _network() -> dict[str, Any]:
    return load_schema(DATA / "network.yaml")


def test_meter2mqtt_slice_exactly() -> None:
    assert dump_yaml(slice_app(_network(), "meter2mqtt")) == (
        """asyncapi: 3.0.0
info:
  title: meter2mqtt
  version: 2.1.0
x-cosalette-enforcement:
  mode: strict
  on_configure: true
  on_publish: true
channels:
  announce:
    address: cosalette/announce
    x-cosalette-app: meter2mqtt
    x-cosalette-scope: all_apps
    messages:
      message:
        payload:
          type: object
  boilerStatus:
    address: boiler2mqtt/status
    x-cosalette-app: boiler2mqtt
    x-cosalette-scope: all_apps
    messages:
      message:
        payload:
          type: object
          additionalProperties: true
  gasCounterState:
    address: meter2mqtt/gas_counter/state
    x-cosalette-app: meter2mqtt
    x-cosalette-archetype: telemetry
    x-cosalette-coalescing-group: meters
    messages:
      message:
        payload:
          properties:
            counter:
              title: Counter
              type: number
              x-cosalette-consumer:
                display_name: Gas counter
                device_class: gas
                unit: m³
                state_class: total_increasing
          required:
          - counter
          title: CounterReading
          type: object
  rootieState:
    address: meter2mqtt/state
    x-cosalette-app: meter2mqtt
    x-cosalette-archetype: telemetry
    messages:
      message:
        payload:
          properties:
            total:
              title: Total
              type: number
              x-cosalette-consumer:
                display_name: Total
                unit: kWh
                device_class: energy
                state_class: total
          required:
          - total
          title: Total
          type: object
  sensorsOutdoorTempState:
    address: meter2mqtt/sensors/outdoor_temp/state
    x-cosalette-app: meter2mqtt
    x-cosalette-archetype: telemetry
    messages:
      message:
        payload:
          properties:
            celsius:
              title: Celsius
              type: number
              x-cosalette-consumer:
                display_name: Outdoor temperature
                device_class: temperature
                unit: °C
                state_class: measurement
            humidity:
              title: Humidity
              type: number
              x-cosalette-consumer:
                display_name: Outdoor humidity
                device_class: humidity
                unit: '%'
                state_class: measurement
          required:
          - celsius
          - humidity
          title: OutdoorReading
          type: object"""
    )


def test_boiler_slice_keeps_bindings_requires_nothing_and_shares_the_payload() -> None:
    sliced = slice_app(_network(), "boiler2mqtt")
    assert list(sliced) == ["asyncapi", "info", "x-cosalette-enforcement", "channels"]
    assert list(sliced["channels"]) == [
        "announce",
        "boilerStatus",
        "burnerCommand",
        "heatingFloorState",
        "heatingWallState",
    ]
    floor = sliced["channels"]["heatingFloorState"]
    assert list(floor) == [
        "address",
        "x-cosalette-app",
        "x-cosalette-archetype",
        "bindings",
        "messages",
    ]  # no x-cosalette-requires, no operations anywhere
    assert floor["bindings"] == {"mqtt": {"qos": 1, "retain": True, "bindingVersion": "0.2.0"}}
    assert "parameters" not in sliced["channels"]["burnerCommand"]
    wall = sliced["channels"]["heatingWallState"]
    assert wall["messages"]["message"]["payload"] is floor["messages"]["message"]["payload"]
    text = dump_yaml(sliced)
    assert "        payload: &id001\n" in text
    assert "        payload: *id001" in text


def test_the_slice_is_a_copy() -> None:
    network = _network()
    before = copy.deepcopy(network)
    sliced = slice_app(network, "boiler2mqtt")
    sliced["channels"]["heatingFloorState"]["messages"]["message"]["payload"]["title"] = "x"
    assert network == before


def test_default_enforcement_is_left_out() -> None:
    network = _network()
    network["x-cosalette-enforcement"] = {
        "mode": "warn",
        "on_configure": True,
        "on_publish": False,
        "network_level": True,
    }
    assert "x-cosalette-enforcement" not in slice_app(network, "meter2mqtt")
    network["x-cosalette-enforcement"] = {"network_level": True}
    assert "x-cosalette-enforcement" not in slice_app(network, "meter2mqtt")
    network["x-cosalette-enforcement"] = {"network_level": True, "on_publish": True}
    assert slice_app(network, "meter2mqtt")["x-cosalette-enforcement"] == {"on_publish": True}


def test_slice_needs_a_network_level_schema() -> None:
    with pytest.raises(ValueError) as caught:
        slice_app(load_schema(DATA / "gas2mqtt.yaml"), "gas2mqtt")
    assert str(caught.value) == (
        "Schema is not network-level: slice needs x-cosalette-enforcement.network_level: true"
    )


def test_an_unknown_app_lists_the_available_ones() -> None:
    with pytest.raises(ValueError) as caught:
        slice_app(_network(), "heat2mqtt")
    assert str(caught.value) == (
        "App 'heat2mqtt' not found in schema. Available apps: boiler2mqtt, meter2mqtt"
    )
