"""``cosalette.schema``: consumer metadata blocks for pydantic fields, as the contract shapes them."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

import cosalette.schema as schema
from cosalette.schema import X_COSALETTE_CONSUMER, consumer, percent, temperature


def test_the_public_names_are_exactly_the_contracts() -> None:
    assert sorted(schema.__all__) == [
        "ConsumerMeta",
        "X_COSALETTE_CONSUMER",
        "consumer",
        "percent",
        "temperature",
    ]
    assert X_COSALETTE_CONSUMER == "x-cosalette-consumer"


def test_consumer_returns_a_new_block_in_call_order() -> None:
    block = consumer(display_name="Gas", unit="m³", read_only=True)
    assert block == {
        "x-cosalette-consumer": {"display_name": "Gas", "unit": "m³", "read_only": True}
    }
    assert list(block["x-cosalette-consumer"]) == ["display_name", "unit", "read_only"]
    assert consumer() == {"x-cosalette-consumer": {}}
    assert consumer() is not consumer()


def test_presets() -> None:
    assert temperature("Outdoor") == {
        "x-cosalette-consumer": {
            "display_name": "Outdoor",
            "device_class": "temperature",
            "unit": "°C",
            "state_class": "measurement",
        }
    }
    assert percent("Humidity") == {
        "x-cosalette-consumer": {
            "display_name": "Humidity",
            "unit": "%",
            "state_class": "measurement",
        }
    }
    assert list(percent("Humidity", icon="mdi:water")["x-cosalette-consumer"])[-1] == "icon"


@pytest.mark.parametrize("text", ["bad\u202eevil", "zero\u200bwidth", "bell\x07"])
def test_invisible_or_bidirectional_text_is_refused_naming_the_key(text: str) -> None:
    with pytest.raises(ValueError, match=r"'display_name'.*invisible or bidirectional"):
        consumer(display_name=text)
    with pytest.raises(ValueError, match="invisible"):
        temperature(text)


def test_the_block_lands_in_the_models_json_schema() -> None:
    class Reading(BaseModel):
        celsius: float = Field(json_schema_extra=temperature("Outdoor"))

    prop = Reading.model_json_schema()["properties"]["celsius"]
    assert prop["x-cosalette-consumer"]["device_class"] == "temperature"
