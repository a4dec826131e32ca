"""Consumer metadata for a state model's fields: how Home Assistant and others should show them.

``consumer(...)`` returns the block for pydantic's ``Field(json_schema_extra=...)``; schema tools
and discovery read it back from the model's JSON schema::

    class Reading(BaseModel):
        celsius: float = Field(json_schema_extra=temperature("Outdoor temperature"))
"""

from __future__ import annotations

import unicodedata
from typing import Any, TypedDict, Unpack

__all__ = ["X_COSALETTE_CONSUMER", "ConsumerMeta", "consumer", "percent", "temperature"]

X_COSALETTE_CONSUMER = "x-cosalette-consumer"
"""The JSON-schema key the consumer metadata lives under."""


class ConsumerMeta(TypedDict, total=False):
    """What a consumer may be told about one field (all optional)."""

    display_name: str
    device_class: str
    unit: str
    state_class: str
    icon: str
    read_only: bool


def consumer(**metadata: Unpack[ConsumerMeta]) -> dict[str, Any]:
    """``{"x-cosalette-consumer": {...}}`` for ``Field(json_schema_extra=...)``, a new dict.

    Text with invisible or bidirectional Unicode (category Cc/Cf) is a ValueError naming the key:
    it would hide what a dashboard shows.
    """
    block: dict[str, Any] = {}
    for key, value in metadata.items():
        if isinstance(value, str) and any(unicodedata.category(c) in ("Cc", "Cf") for c in value):
            raise ValueError(
                f"consumer metadata {key!r}: the value contains invisible or bidirectional "
                f"Unicode characters (category Cc/Cf)"
            )
        block[key] = value
    return {X_COSALETTE_CONSUMER: block}


def temperature(display_name: str) -> dict[str, Any]:
    """A temperature in °C, measured (device_class "temperature", state_class "measurement")."""
    return consumer(
        display_name=display_name,
        device_class="temperature",
        unit="°C",
        state_class="measurement",
    )


def percent(display_name: str, *, icon: str | None = None) -> dict[str, Any]:
    """A percentage, measured; *icon* (e.g. ``"mdi:water-percent"``) only when given."""
    if icon is None:
        return consumer(display_name=display_name, unit="%", state_class="measurement")
    return consumer(display_name=display_name, unit="%", state_class="measurement", icon=icon)
