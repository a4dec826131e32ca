"""Home Assistant discovery as a running bridge publishes it (``cosactl manifest --format
ha-discovery`` prints the same list).

It extends the contract's mapping (:mod:`cosalette._schema.ha_discovery`: same ids, topics and
component rules) with what a long-running bridge needs:

* every state property becomes an entity, not only those with ``consumer(...)`` metadata;
* a command device is one entity that both shows and sets its state (a ``switch`` for on/off,
  a ``select`` for other choices, a ``number``, a ``text``, or a ``button`` for a command
  without payload) instead of two entries with the same ``unique_id``;
* ``availability`` combines the app's ``<prefix>/status`` (the broker's last will after a
  SIGKILL) with the device's own topic (``availability_mode: all``); ``device`` carries the
  app version as ``sw_version``; ``origin`` names cosalette;
* nested device names (``sensors/outdoor``) keep their whole path in the ``object_id``, so two
  devices under one router prefix cannot collide.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from cosalette._schema.document import resolve_refs
from cosalette._schema.ha_discovery import (
    channel_direction,
    channel_properties,
    config_topic,
    consumer_block,
    device_block,
    infer_component,
    slug,
    value_template,
)

__all__ = ["AVAILABILITY_TEMPLATE", "BridgeInfo", "CommandHint", "bridge_entities"]

AVAILABILITY_TEMPLATE = "{{ 'offline' if value == 'offline' else 'online' }}"
"""``<prefix>/status`` carries a JSON heartbeat while running and ``offline`` as last will."""

_COMMANDABLE = frozenset({"switch", "select", "number", "text", "button"})
_CONSUMER_KEYS = (
    ("device_class", "device_class"),
    ("unit", "unit_of_measurement"),
    ("state_class", "state_class"),
    ("icon", "icon"),
)


class CommandHint(NamedTuple):
    """What a command's handler accepts on ``/set``: nothing, any text, one of some values,
    or a typed value (a number, a JSON object)."""

    kind: Literal["none", "text", "enum", "value"]
    options: tuple[str, ...] = ()


class BridgeInfo(NamedTuple):
    """What the bridge adds to every config."""

    ha_prefix: str
    status_topic: str
    app_version: str
    origin_version: str
    commands: Mapping[str, CommandHint]  # by /set address


def on_off(values: Any) -> tuple[str, str] | None:
    """``(on, off)`` spelled as in *values* when they are exactly an on/off pair."""
    if not isinstance(values, list) or len(values) != 2:
        return None
    lowered = {str(v).lower(): str(v) for v in values}
    if set(lowered) != {"on", "off"}:
        return None
    return lowered["on"], lowered["off"]


class _Device(NamedTuple):
    base: str  # the address without its last segment
    app: str
    state: dict[str, Any] | None
    command: dict[str, Any] | None


def _devices(doc: dict[str, Any]) -> list[_Device]:
    """State and command channels grouped by device, sorted by address."""
    found: dict[str, dict[str, Any]] = {}
    for cid, channel in doc.get("channels", {}).items():
        if channel.get("x-cosalette-scope") == "all_apps":
            continue
        base = str(channel.get("address", "")).rpartition("/")[0]
        role = "command" if channel_direction(doc, cid) == "receive" else "state"
        found.setdefault(base, {"app": channel.get("x-cosalette-app") or "unknown"})
        found[base].setdefault(role, channel)
    return [
        _Device(base, str(d["app"]), d.get("state"), d.get("command"))
        for base, d in sorted(found.items())
    ]


def bridge_entities(doc: dict[str, Any], bridge: BridgeInfo) -> list[dict[str, Any]]:
    """``[{"topic", "config"}]`` for every entity of *doc* as the bridge announces it."""
    resolved = resolve_refs(doc)
    entities: list[dict[str, Any]] = []
    for device in _devices(resolved):
        entities += _device_entities(resolved, device, bridge)
    return entities


def _device_entities(
    doc: dict[str, Any], device: _Device, bridge: BridgeInfo
) -> list[dict[str, Any]]:
    command_topic = device.command["address"] if device.command else None
    hint = bridge.commands.get(command_topic or "", CommandHint("value"))
    out: list[dict[str, Any]] = []
    controlled = False
    if device.state is not None:
        archetype = device.state.get("x-cosalette-archetype")
        props = channel_properties(doc, device.state)
        for prop in sorted(props):
            schema = props[prop]
            settable = command_topic is not None and not controlled
            component = _component(archetype, schema, hint if settable else None)
            config = _base_config(device, prop, schema, bridge)
            config["state_topic"] = device.state["address"]
            config["value_template"] = _override(schema).get("value_template") or (
                value_template(prop)
            )
            if settable and component in _COMMANDABLE and command_topic is not None:
                controlled = True
                _add_command(config, component, command_topic, schema, hint)
            if component == "binary_sensor" and schema.get("type") == "boolean":
                config["payload_on"], config["payload_off"] = "True", "False"  # JSON booleans
            if component == "number":
                config.pop("state_class", None)  # not an option of number entities
            out.append(_entity(bridge, component, device, config))
    if command_topic is not None and not controlled:
        component = _command_component(hint)
        config = _base_config(device, "command", {}, bridge)
        config["name"] = _device_name(device)
        _add_command(config, component, command_topic, {}, hint)
        out.append(_entity(bridge, component, device, config))
    return out


def _override(schema: dict[str, Any]) -> dict[str, Any]:
    block = schema.get("x-cosalette-ha-discovery")
    return block if isinstance(block, dict) else {}


def _component(archetype: Any, schema: dict[str, Any], hint: CommandHint | None) -> str:
    """The contract's component, except that a settable on/off property is a switch."""
    forced = _override(schema).get("component")
    if forced:
        return str(forced)
    if hint is None:  # nothing sets it: shown only
        return infer_component("telemetry", schema, None)
    if on_off(schema.get("enum")) is not None:
        return "switch"
    if hint.kind == "none":
        return infer_component("telemetry", schema, None)
    if schema.get("type") == "string" and "enum" not in schema:
        return "text" if hint.kind == "text" else "sensor"
    return infer_component(archetype if archetype == "command" else "command", schema, None)


def _command_component(hint: CommandHint) -> str:
    if hint.kind == "none":
        return "button"
    if hint.kind == "enum":
        return "switch" if on_off(list(hint.options)) else "select"
    return "text"


def _add_command(
    config: dict[str, Any],
    component: str,
    topic: str,
    schema: dict[str, Any],
    hint: CommandHint,
) -> None:
    config["command_topic"] = topic
    template = _override(schema).get("command_template")
    if template:
        config["command_template"] = template
    if component == "switch":
        pair = on_off(schema.get("enum")) or on_off(list(hint.options)) or ("on", "off")
        config["payload_on"], config["payload_off"] = pair
        if "state_topic" in config:
            if schema.get("type") == "boolean":
                config["state_on"], config["state_off"] = "True", "False"
            else:
                config["state_on"], config["state_off"] = pair
    elif component == "select":
        options = schema.get("enum") or list(hint.options)
        config["options"] = [str(o) for o in options]


def _device_path(device: _Device) -> str:
    """The device's name below the app's topic root (the root device: the app itself)."""
    if device.base.startswith(device.app + "/"):
        return device.base[len(device.app) + 1 :]
    return device.base.partition("/")[2] or device.base


def _device_name(device: _Device) -> str:
    return _device_path(device).replace("/", " ").replace("_", " ")


def _object_id(device: _Device, prop: str) -> str:
    return slug(f"{_device_path(device)}_{prop}")


def _base_config(
    device: _Device, prop: str, schema: dict[str, Any], bridge: BridgeInfo
) -> dict[str, Any]:
    meta = consumer_block(schema) or {}
    object_id = _object_id(device, prop)
    name = meta.get("display_name") or (
        prop if meta else f"{_device_name(device)} {prop.replace('_', ' ')}"
    )
    config: dict[str, Any] = {
        "name": name,
        "unique_id": f"cosalette_{slug(device.app)}_{object_id}",
        "object_id": object_id,
    }
    for key, target in _CONSUMER_KEYS:
        if meta.get(key):
            config[target] = meta[key]
    expire = _override(schema).get("expire_after")
    if expire is not None:
        config["expire_after"] = expire
    config["availability"] = [
        {"topic": bridge.status_topic, "value_template": AVAILABILITY_TEMPLATE},
        {"topic": f"{device.base}/availability"},
    ]
    config["availability_mode"] = "all"
    config["device"] = {**device_block(device.app), "sw_version": bridge.app_version}
    config["origin"] = {"name": "cosalette", "sw_version": bridge.origin_version}
    return config


_ORDER = (
    "name",
    "unique_id",
    "object_id",
    "state_topic",
    "command_topic",
    "value_template",
    "command_template",
    "payload_on",
    "payload_off",
    "state_on",
    "state_off",
    "options",
    "device_class",
    "unit_of_measurement",
    "state_class",
    "icon",
    "expire_after",
    "availability",
    "availability_mode",
    "device",
    "origin",
)


def _entity(
    bridge: BridgeInfo, component: str, device: _Device, config: dict[str, Any]
) -> dict[str, Any]:
    """The entity with its config keys in the contract's order, then the bridge's own."""
    topic = config_topic(bridge.ha_prefix, component, device.app, config["object_id"])
    return {"topic": topic, "config": {k: config[k] for k in _ORDER if k in config}}
