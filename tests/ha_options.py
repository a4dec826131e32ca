"""Checks a Home Assistant MQTT discovery config against the documented options.

The options (keys and value types per component, from the home-assistant.io MQTT pages) are in
``tests/data/ha_discovery_options.json``; its ``source`` names the pages. Use it as
``assert config_problems("sensor", config) == []``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["COMPONENTS", "OPTIONS", "component_options", "config_problems"]

OPTIONS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "ha_discovery_options.json").read_text(encoding="utf-8")
)
COMPONENTS: tuple[str, ...] = tuple(OPTIONS["components"])


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "template": lambda v: isinstance(v, str),
    "device_class": lambda v: isinstance(v, str),
    "icon": lambda v: isinstance(v, str) and ":" in v,
    "integer": _is_int,
    "float": lambda v: _is_int(v) or isinstance(v, float),
    "boolean": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, list),
    "map": lambda v: isinstance(v, dict),
}


def component_options(component: str) -> dict[str, Any]:
    """Every documented key of *component* (the common ones and its own) with its spec."""
    return {**OPTIONS["common"], **OPTIONS["components"][component]}


def _value_problems(path: str, spec: dict[str, Any], value: Any) -> list[str]:
    if value is None and spec.get("nullable"):
        return []
    types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    if not any(_CHECKS[t](value) for t in types):
        return [f"{path!r} must be {' or '.join(types)}, got {value!r}"]
    problems: list[str] = []
    if isinstance(value, dict) and "keys" in spec:
        problems += _map_problems(path, OPTIONS["nested"][spec["keys"]], value)
    if isinstance(value, list) and "items" in spec:
        items = spec["items"]
        for i, item in enumerate(value):
            if items in OPTIONS["nested"]:
                item_spec = {"type": "map", "keys": items}
            else:
                item_spec = {"type": items}
            problems += _value_problems(f"{path}[{i}]", item_spec, item)
    return problems


def _map_problems(prefix: str, options: dict[str, Any], config: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for key, value in config.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if key not in options:
            problems.append(f"unknown key {path!r}")
        else:
            problems += _value_problems(path, options[key], value)
    return problems


def config_problems(component: str, config: dict[str, Any]) -> list[str]:
    """What in *config* is not a documented key of *component* or has the wrong value type
    (nested ``availability``, ``device`` and ``origin`` too); empty when all is well."""
    if component not in OPTIONS["components"]:
        return [f"unknown component {component!r} (known: {', '.join(COMPONENTS)})"]
    found = _map_problems("", component_options(component), config)
    return [f"{component}: {problem}" for problem in found]
