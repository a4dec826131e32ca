"""An AsyncAPI 3.0 document built from a manifest (``cosalette.project.build_manifest``).

Channels are the app's topics; ``send`` operations are what the app publishes (state,
availability, errors, status) and ``receive`` operations the ``/set`` topics it handles.
Payload schemas come from the state and payload models, with their ``$defs`` hoisted into
``components.schemas``. A triggerable telemetry device receives on its ``/set`` topic too; how
a telemetry device is scheduled and copes with failures (schedule, group, retry, circuit
breaker, timeout) is carried as ``x-cosalette-*`` extensions on the operation publishing its
state. A stream publishes state (and errors) as its port pushes items: its state operation
carries ``x-cosalette-stream`` (port, item type, queue size, backpressure); it has no
availability channel.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from cosalette._contract.manifest import model_schema
from cosalette._topics import app_error_topic, status_topic

__all__ = ["ASYNCAPI_VERSION", "build_asyncapi"]

ASYNCAPI_VERSION = "3.0.0"
_MQTT_BINDING = "0.2.0"
_UNSAFE = re.compile(r"[^\w.\-]")
_EXTENSIONS = {  # manifest key -> extension key on a telemetry device's state operation
    "schedule": "x-cosalette-schedule",
    "group": "x-cosalette-group",
    "triggerable": "x-cosalette-triggerable",
    "retry": "x-cosalette-retry",
    "circuit_breaker": "x-cosalette-circuit-breaker",
    "timeout": "x-cosalette-timeout",
}

_AVAILABILITY = {
    "title": "Availability",
    "type": "string",
    "enum": ["online", "offline"],
    "description": "Retained device availability.",
}
_OFFLINE = {
    "title": "Offline",
    "type": "string",
    "const": "offline",
    "description": "The app's last will.",
}
_SET_PAYLOAD = {
    "title": "Command",
    "type": ["object", "string"],
    "description": "Command payload: a JSON object or plain text.",
}
_TRIGGER_PAYLOAD = {
    "title": "Trigger",
    "type": ["object", "string"],
    "description": (
        "Optional trigger payload: a JSON object or plain text; any message, an empty one "
        "too, makes the device read and publish now (TriggerPayload)."
    ),
}
_STATE_PAYLOAD = {
    "title": "State",
    "type": "object",
    "description": "Device state as a JSON object.",
}


def _rewrite(node: Any, names: dict[str, str]) -> Any:
    """Copy *node* with ``#/$defs/X`` references pointing into ``components.schemas``."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                target = value.removeprefix("#/$defs/")
                out[key] = f"#/components/schemas/{names.get(target, target)}"
            else:
                out[key] = _rewrite(value, names)
        return out
    if isinstance(node, list):
        return [_rewrite(item, names) for item in node]
    return node


class _Builder:
    """Accumulates channels, operations and components with unique, valid keys."""

    def __init__(self) -> None:
        self.channels: dict[str, Any] = {}
        self.operations: dict[str, Any] = {}
        self.schemas: dict[str, Any] = {}
        self.messages: dict[str, Any] = {}

    @staticmethod
    def _key(text: str, taken: dict[str, Any]) -> str:
        base = _UNSAFE.sub("_", text) or "_"
        key, n = base, 2
        while key in taken:
            key, n = f"{base}_{n}", n + 1
        return key

    def _put_schema(self, name: str, schema: Any) -> str:
        key = _UNSAFE.sub("_", name) or "Schema"
        if self.schemas.get(key) == schema:
            return key
        if key in self.schemas:
            key = self._key(key, self.schemas)
        self.schemas[key] = schema
        return key

    def schema_ref(self, schema: dict[str, Any], name: str) -> dict[str, str]:
        """Store *schema* (hoisting its ``$defs``) and return a reference to it."""
        schema = copy.deepcopy(schema)
        defs: dict[str, Any] = schema.pop("$defs", {})
        names: dict[str, str] = {}
        for def_name, definition in defs.items():
            key = _UNSAFE.sub("_", def_name)
            same = _rewrite(definition, {n: _UNSAFE.sub("_", n) for n in defs})
            if key in self.schemas and self.schemas[key] != same:
                key = self._key(key, self.schemas)
            names[def_name] = key
        for def_name, definition in defs.items():
            self.schemas[names[def_name]] = _rewrite(definition, names)
        key = self._put_schema(str(schema.get("title") or name), _rewrite(schema, names))
        return {"$ref": f"#/components/schemas/{key}"}

    def message(
        self, name: str, payload: dict[str, Any], *, title: str, content_type: str | None = None
    ) -> str:
        """Store a message with *payload* as its schema; identical messages are shared."""
        message: dict[str, Any] = {
            "name": name,
            "title": title,
            "payload": self.schema_ref(payload, name),
        }
        if content_type is not None:
            message["contentType"] = content_type
        key = _UNSAFE.sub("_", name)
        if self.messages.get(key) == message:
            return key
        key = self._key(key, self.messages)
        self.messages[key] = message
        return key

    def channel(
        self,
        channel_id: str,
        address: str,
        messages: dict[str, str],
        *,
        description: str | None = None,
    ) -> str:
        """Add a channel whose messages reference ``components.messages``."""
        key = self._key(channel_id, self.channels)
        channel: dict[str, Any] = {
            "address": address.replace("+", "{device}"),
            "messages": {
                m: {"$ref": f"#/components/messages/{ref}"} for m, ref in messages.items()
            },
        }
        if "+" in address:
            channel["parameters"] = {"device": {"description": "A device name chosen at start."}}
        if description:
            channel["description"] = description
        self.channels[key] = channel
        return key

    def operation(
        self,
        action: str,
        channel: str,
        *,
        retain: bool,
        summary: str | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        """Add a send or receive operation on *channel* with every message it carries."""
        verb = "publish" if action == "send" else "handle"
        key = self._key(f"{verb}_{channel}", self.operations)
        op: dict[str, Any] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [
                {"$ref": f"#/channels/{channel}/messages/{m}"}
                for m in self.channels[channel]["messages"]
            ],
            "bindings": {"mqtt": {"qos": 1, "retain": retain, "bindingVersion": _MQTT_BINDING}},
        }
        if summary:
            op["summary"] = summary
        op.update(extensions or {})
        self.operations[key] = op


def _set_channel(builder: _Builder, device: dict[str, Any], slug: str, topic: str) -> None:
    """The ``/set`` channel: commands, or triggers of a triggerable telemetry device."""
    name = device["name"]
    if device.get("kind") == "telemetry":
        payload = device.get("payload_schema") or _TRIGGER_PAYLOAD
        set_msg = builder.message(f"{slug}_set", payload, title=f"{name} trigger")
        channel = builder.channel(f"{slug}_set", topic, {"trigger": set_msg})
        summary = f"Triggers that make {name} read and publish now."
    else:
        payload = device.get("payload_schema") or _SET_PAYLOAD
        set_msg = builder.message(f"{slug}_set", payload, title=f"{name} command")
        channel = builder.channel(f"{slug}_set", topic, {"command": set_msg})
        summary = f"Commands for {name}."
    builder.operation("receive", channel, retain=False, summary=summary)


def _device(builder: _Builder, device: dict[str, Any], error_message: str) -> None:
    topics: dict[str, str] = device.get("topics") or {}
    if not topics:
        return
    slug = _UNSAFE.sub("_", "root" if device.get("root") else str(device["name"]))
    summary = device.get("summary")
    state = device.get("state_schema") or _STATE_PAYLOAD
    state_msg = builder.message(f"{slug}_state", state, title=f"{device['name']} state")
    channel = builder.channel(
        f"{slug}_state", topics["state"], {"state": state_msg}, description=summary
    )
    extensions = {x: device[key] for key, x in _EXTENSIONS.items() if key in device}
    if device.get("kind") == "stream":
        keys = ("port", "item_type", "maxsize", "backpressure")
        extensions["x-cosalette-stream"] = {k: device.get(k) for k in keys}
    builder.operation(
        "send", channel, retain=True, summary=f"State of {device['name']}.", extensions=extensions
    )
    if "set" in topics:
        _set_channel(builder, device, slug, topics["set"])
    if "availability" in topics:  # streams have none
        availability = builder.message(
            "availability", _AVAILABILITY, title="Availability", content_type="text/plain"
        )
        channel = builder.channel(
            f"{slug}_availability", topics["availability"], {"availability": availability}
        )
        builder.operation("send", channel, retain=True)
    if topics.get("error"):
        channel = builder.channel(f"{slug}_error", topics["error"], {"error": error_message})
        builder.operation("send", channel, retain=False)


def build_asyncapi(manifest: dict[str, Any]) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document for *manifest* (a ``build_manifest`` result)."""
    from cosalette._errors import ErrorPayload
    from cosalette._health import HeartbeatPayload

    app = manifest["app"]
    builder = _Builder()
    error_schema = model_schema(ErrorPayload, mode="serialization") or {}
    error_message = builder.message("error", error_schema, title="Error")
    app_topics = manifest.get("topics", {})
    for device in manifest.get("devices", []):
        topics = dict(device.get("topics") or {})
        if topics.get("error") == app_topics.get("error"):
            topics.pop("error")  # a root device reports on the app's error topic
        _device(builder, {**device, "topics": topics}, error_message)
    heartbeat = builder.message(
        "heartbeat",
        model_schema(HeartbeatPayload, mode="serialization") or {},
        title="Heartbeat",
    )
    offline = builder.message(
        "status_offline", _OFFLINE, title="Offline", content_type="text/plain"
    )
    status = builder.channel(
        "app_status",
        app_topics.get("status", status_topic(app["topic_prefix"])),
        {"heartbeat": heartbeat, "offline": offline},
        description="Retained app status: a heartbeat while running, 'offline' as last will.",
    )
    builder.operation("send", status, retain=True, summary="App heartbeat and last will.")
    errors = builder.channel(
        "app_error",
        app_topics.get("error", app_error_topic(app["topic_prefix"])),
        {"error": error_message},
        description="Every error the app reports.",
    )
    builder.operation("send", errors, retain=False, summary="Errors of every device.")
    info: dict[str, Any] = {"title": app["name"], "version": app["version"]}
    if app.get("description"):
        info["description"] = app["description"]
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": info,
        "defaultContentType": "application/json",
        "channels": builder.channels,
        "operations": builder.operations,
        "components": {"schemas": builder.schemas, "messages": builder.messages},
    }
