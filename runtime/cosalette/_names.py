"""Validation of names that become MQTT topic segments."""

from __future__ import annotations

import re

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


RESERVED_SUB_NAMES = frozenset(
    {
        "state",
        "set",
        "availability",
        "status",
        "error",
        "config",
        "attributes",
        "json_attributes",
        "diagnostic",
        "firmware",
    }
)
"""Channels a device already has (or Home Assistant uses): never a sub-entity's name."""


def validate_sub_topic(name: str) -> str:
    """Validate a command sub-topic name: one topic segment."""
    return validate_mqtt_name(name, what="Sub-topic")


def validate_sub_entity(name: str) -> str:
    """Validate a sub-entity name: one topic segment that is not a reserved channel name."""
    validate_mqtt_name(name, what="Sub-entity name")
    if name in RESERVED_SUB_NAMES:
        reserved = ", ".join(sorted(RESERVED_SUB_NAMES))
        raise ValueError(f"Sub-entity name {name!r} is reserved (reserved: {reserved})")
    return name


def env_prefix_for(app_name: str) -> str:
    """``gas2mqtt`` → ``GAS2MQTT_``: the environment prefix of an app's settings (upper case,
    every other character an underscore)."""
    return re.sub(r"[^A-Za-z0-9]", "_", app_name).upper() + "_"
