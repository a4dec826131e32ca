"""Markers for handler parameters that come from the MQTT message itself."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Payload", "Topic"]


@dataclass(frozen=True)
class Payload:
    """``Annotated[Model, Payload()]``: the message payload, parsed and validated as *Model*."""


@dataclass(frozen=True)
class Topic:
    """``Annotated[str, Topic()]``: the full topic the message arrived on."""
