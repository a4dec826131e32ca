"""Schema helpers for consumers of a cosalette app's MQTT contract."""

from __future__ import annotations

from typing import Any

__all__ = ["consumer"]


def consumer(model: type[Any]) -> type[Any]:
    """Mark *model* as the consumer-side schema of a payload; returns it unchanged."""
    model.__cosalette_consumer__ = True
    return model
