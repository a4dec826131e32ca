"""Home Assistant MQTT discovery configs from an AsyncAPI schema file (contract section 4).

:func:`discovery_entities` is what ``schema ha-discovery`` prints; the small building blocks
(ids, topics, component choice, ...) are shared with the runtime's own discovery.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from cosalette._schema.document import resolve_refs
from cosalette._schema.refs import RefError, inline_refs
from cosalette._schema.yaml_out import dump_yaml

__all__ = [
    "HA_FORMATS",
    "channel_direction",
    "channel_properties",
    "config_topic",
    "consumer_block",
    "device_block",
    "device_segment",
    "discovery_entities",
    "entity_ids",
    "infer_component",
    "render_entities",
    "slug",
    "value_template",
]

HA_FORMATS = ("json", "yaml")
CONSUMER_KEY = "x-cosalette-consumer"
OVERRIDE_KEY = "x-cosalette-ha-discovery"
_CONSUMER_DEFAULTS: dict[str, Any] = {
    "display_name": None,
    "device_class": None,
    "unit": None,
    "state_class": None,
    "icon": None,
    "read_only": False,
}
_COPIED = (  # consumer key -> config key, copied when truthy
    ("device_class", "device_class"),
    ("unit", "unit_of_measurement"),
    ("state_class", "state_class"),
    ("icon", "icon"),
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_MAX_DEPTH = 64
_SHOWN = {"number": "sensor", "integer": "sensor", "string": "sensor", "boolean": "binary_sensor"}
_COMPONENTS = {  # archetype -> JSON type -> component; a command's string is a select or sensor
    "telemetry": _SHOWN,
    "device": _SHOWN,
    "command": {"number": "number", "integer": "number", "boolean": "switch"},
}


def slug(text: str) -> str:
    """Lowercase, each run of characters outside ``[a-z0-9]`` made ``_``, outer ``_`` stripped."""
    return _NOT_SLUG.sub("_", text.lower()).strip("_")


def _collect(schema: Any, found: dict[str, dict[str, Any]], depth: int) -> None:
    if depth > _MAX_DEPTH or not isinstance(schema, dict):
        return
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for name, prop in properties.items():
            if isinstance(prop, dict):  # a boolean schema (``true``) describes nothing to show
                found.setdefault(str(name), prop)
    for key in ("oneOf", "anyOf", "allOf"):
        variants = schema.get(key)
        if isinstance(variants, list):
            for variant in variants:
                _collect(variant, found, depth + 1)


def channel_properties(
    doc_resolved: dict[str, Any], channel: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The top-level properties of the channel's first message payload, merged with those of its
    ``oneOf``/``anyOf``/``allOf`` variants (direct ones win, then the first found)."""
    messages = channel.get("messages")
    if not isinstance(messages, dict) or not messages:
        return {}
    message = next(iter(messages.values()))
    with contextlib.suppress(RefError):  # a channel of an unresolved document: inline here
        message = inline_refs(message, doc_resolved)
    payload = message.get("payload") if isinstance(message, dict) else None
    found: dict[str, dict[str, Any]] = {}
    _collect(payload, found, 0)
    return found


def consumer_block(prop_schema: Any) -> dict[str, Any] | None:
    """The property's known ``x-cosalette-consumer`` keys, or None when the block is missing,
    not a mapping, or holds only defaults (``None``, ``read_only: false``)."""
    if not isinstance(prop_schema, dict):
        return None
    block = prop_schema.get(CONSUMER_KEY)
    if not isinstance(block, dict):
        return None
    known = {key: value for key, value in block.items() if key in _CONSUMER_DEFAULTS}
    if all(value == _CONSUMER_DEFAULTS[key] for key, value in known.items()):
        return None
    return known


def _override(prop_schema: Any) -> dict[str, Any]:
    block = prop_schema.get(OVERRIDE_KEY) if isinstance(prop_schema, dict) else None
    return block if isinstance(block, dict) else {}


def _operation_targets(doc: dict[str, Any], operation: dict[str, Any], channel_id: str) -> bool:
    target = operation.get("channel")
    if not isinstance(target, dict):
        return False
    ref = target.get("$ref")
    if isinstance(ref, str):
        escaped = channel_id.replace("~", "~0").replace("/", "~1")
        return ref == f"#/channels/{escaped}"
    # A resolved document has the channel itself here instead of a reference to it.
    return bool(target == (doc.get("channels") or {}).get(channel_id))


def channel_direction(doc: dict[str, Any], channel_id: str) -> str:
    """``send``, ``receive`` or ``both`` from the operations on the channel (``send`` if none);
    works on a resolved document too."""
    actions: set[Any] = set()
    for operation in (doc.get("operations") or {}).values():
        if isinstance(operation, dict) and _operation_targets(doc, operation, channel_id):
            actions.add(operation.get("action"))
    if "send" in actions and "receive" in actions:
        return "both"
    if "receive" in actions:
        return "receive"
    return "send"


def device_segment(address: str) -> str:
    """The address's 2nd segment (``app/heating_floor/state`` -> ``heating_floor``), or the
    whole address when it has one segment."""
    parts = address.split("/")
    return parts[1] if len(parts) > 1 else address


def entity_ids(app: str, address: str, prop: str) -> tuple[str, str]:
    """``(object_id, unique_id)`` of the entity for *prop* on the channel at *address*."""
    object_id = slug(f"{device_segment(address)}_{prop}")
    return object_id, f"cosalette_{slug(app)}_{object_id}"


def config_topic(prefix: str, component: str, app: str, object_id: str) -> str:
    """``<prefix>/<component>/<slug(app)>/<object_id>/config``."""
    return f"{prefix}/{component}/{slug(app)}/{object_id}/config"


def value_template(prop: str) -> str:
    """``{{ value_json.p }}`` for an identifier, else ``{{ value_json['p'] }}`` (escaped)."""
    if _IDENTIFIER.fullmatch(prop):
        return f"{{{{ value_json.{prop} }}}}"
    escaped = prop.replace("\\", "\\\\").replace("'", "\\'")
    return f"{{{{ value_json['{escaped}'] }}}}"


def infer_component(
    archetype: str | None, prop_schema: dict[str, Any], override: dict[str, Any] | None
) -> str:
    """The HA component: the override's ``component`` if set, else by archetype and JSON type
    (a missing type counts as ``string``; anything unknown is ``sensor``)."""
    if override and override.get("component"):
        return str(override["component"])
    json_type = prop_schema.get("type", "string")
    if not isinstance(json_type, str):
        return "sensor"
    if archetype == "command" and json_type == "string":
        return "select" if "enum" in prop_schema else "sensor"
    return _COMPONENTS.get(archetype or "", {}).get(json_type, "sensor")


def device_block(app: str) -> dict[str, Any]:
    """The ``device`` of every entity of *app* (a new dict each call)."""
    return {"identifiers": [f"cosalette_{slug(app)}"], "name": app, "manufacturer": "cosalette"}


def _config(
    app: str, address: str, direction: str, prop: str, schema: dict[str, Any], meta: dict[str, Any]
) -> dict[str, Any]:
    override = _override(schema)
    object_id, unique_id = entity_ids(app, address, prop)
    config: dict[str, Any] = {
        "name": meta.get("display_name") or prop,
        "unique_id": unique_id,
        "object_id": object_id,
    }
    if direction in ("send", "both"):
        config["state_topic"] = address
    if direction in ("receive", "both"):
        config["command_topic"] = address
    if "state_topic" in config:
        config["value_template"] = override.get("value_template") or value_template(prop)
    if "command_topic" in config and override.get("command_template"):
        config["command_template"] = override["command_template"]
    for key, target in _COPIED:
        if meta.get(key):
            config[target] = meta[key]
    if override.get("expire_after") is not None:
        config["expire_after"] = override["expire_after"]
    config["device"] = device_block(app)
    return config


def discovery_entities(
    doc: dict[str, Any], *, prefix: str = "homeassistant"
) -> list[dict[str, Any]]:
    """``[{"topic", "config"}]``, one per (channel, property with consumer metadata), channels
    sorted by address and properties by name; ``all_apps`` channels are skipped."""
    resolved = resolve_refs(doc)
    channels = [
        (cid, channel)
        for cid, channel in (resolved.get("channels") or {}).items()
        if isinstance(channel, dict)
        and isinstance(channel.get("address"), str)
        and channel.get("x-cosalette-scope") != "all_apps"
    ]
    entities: list[dict[str, Any]] = []
    for cid, channel in sorted(channels, key=lambda item: str(item[1]["address"])):
        address: str = channel["address"]
        app = str(channel.get("x-cosalette-app") or "unknown")
        archetype = channel.get("x-cosalette-archetype")
        direction = channel_direction(doc, cid)
        properties = channel_properties(resolved, channel)
        for prop in sorted(properties):
            schema = properties[prop]
            meta = consumer_block(schema)
            if meta is None:
                continue
            component = infer_component(archetype, schema, _override(schema))
            config = _config(app, address, direction, prop, schema, meta)
            topic = config_topic(prefix, component, app, config["object_id"])
            entities.append({"topic": topic, "config": config})
    return entities


def render_entities(entities: list[dict[str, Any]], fmt: str) -> str:
    """*entities* as ``json`` (indented, ASCII-escaped) or ``yaml`` text, no final newline."""
    if fmt == "json":
        return json.dumps(entities, indent=2)
    if fmt == "yaml":
        return dump_yaml(entities)
    raise ValueError(f"Unknown format: {fmt}. Available: {', '.join(HA_FORMATS)}")
