"""Validation of names that become MQTT topic segments."""

from __future__ import annotations

_FORBIDDEN = frozenset("+#/\x00")


def validate_mqtt_name(name: str, *, what: str = "Name") -> str:
    """Return *name* if it is a valid single topic segment, else raise ValueError."""
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a string, got {type(name).__name__}")
    if not name or not name.strip():
        raise ValueError(f"{what} must not be empty")
    bad = sorted(set(name) & _FORBIDDEN)
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise ValueError(f"{what} {name!r} contains characters not allowed in MQTT topics: {shown}")
    return name


def validate_sub_topic(name: str) -> str:
    """Validate a command sub-topic or sub-entity name."""
    return validate_mqtt_name(name, what="Sub-topic")
