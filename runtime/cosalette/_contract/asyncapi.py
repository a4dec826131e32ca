"""The AsyncAPI 3.0 document of an app: ``App.asyncapi()``, ``cosactl manifest --format
asyncapi``, ``python -m cosalette schema dump`` and the retained ``<prefix>/_meta/registry``.

The shape is the cosalette contract other tools read (``schema check``, ``ha-discovery``, ACLs):
one ``<id>State`` channel per telemetry, command and device, one ``<id>Command`` channel per
command, ``publish<Pascal>State``/``receive<Pascal>Command`` operations and ``x-cosalette-*``
metadata; payload schemas come from ``state_model``/``payload_model`` or the handler's
annotations, with their ``$defs`` in ``components.schemas``. Streams and periodic tasks have no
channel here; how devices are scheduled and what they cope with is in the manifest.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cosalette._app.registration import Registrations, _Registration
from cosalette._secrets import redact_schema
from cosalette._topics import LIVENESS, DeviceTopics, status_topic, topic_root
from cosalette.schema import X_COSALETTE_CONSUMER

if TYPE_CHECKING:
    from cosalette._app.app import App
    from cosalette._app.description import AppDescription
    from cosalette._settings import Settings

__all__ = [
    "ASYNCAPI_VERSION",
    "CONTRACT_VERSION",
    "asyncapi_document",
    "build_asyncapi",
    "channel_id",
    "pascal",
]

ASYNCAPI_VERSION = "3.0.0"
CONTRACT_VERSION = "1"
_REF_TEMPLATE = "#/components/schemas/{model}"
_OBJECT: dict[str, Any] = {"type": "object"}


def channel_id(name: str) -> str:
    """``<id>`` of a channel: a plain name verbatim; ``a/b_c`` → ``aBC`` (router prefixes)."""
    first, *rest = name.split("/")
    return first + "".join(w.capitalize() for seg in rest for w in seg.split("_"))


def pascal(name: str) -> str:
    """``<Pascal>`` of an operation: split on ``/`` and ``_``, each word ``str.capitalize()``d."""
    return "".join(w.capitalize() for seg in name.split("/") for w in seg.split("_"))


def _keep_order(parent_key: str | None) -> bool:
    return parent_key in ("properties", "default", X_COSALETTE_CONSUMER)


def _sorted(value: Any, parent_key: str | None = None) -> Any:
    """pydantic's key sorting, except that consumer metadata keeps ``consumer()`` call order."""
    if isinstance(value, dict):
        keys = list(value) if _keep_order(parent_key) else sorted(value)
        return {k: _sorted(value[k], k) for k in keys}
    if isinstance(value, list):
        return [_sorted(item, parent_key) for item in value]
    return value


@functools.cache
def _generator() -> type[Any]:
    from pydantic.json_schema import GenerateJsonSchema

    class ContractJsonSchema(GenerateJsonSchema):
        def sort(self, value: Any, parent_key: str | None = None) -> Any:
            return _sorted(value, parent_key)

    return ContractJsonSchema


def type_schema(annotation: Any, defs: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema of *annotation* with its ``$defs`` moved into *defs*; None if none."""
    if annotation is None or annotation is type(None):
        return None
    from pydantic import TypeAdapter

    try:
        schema: dict[str, Any] = TypeAdapter(annotation).json_schema(
            ref_template=_REF_TEMPLATE, schema_generator=_generator()
        )
    except Exception:  # an arbitrary class pydantic cannot describe: no schema
        return None
    schema = redact_schema(schema)  # no credentials or secret defaults in a contract
    defs.update(schema.pop("$defs", {}))  # on a name clash the later one wins
    return schema


def _return_annotation(func: Callable[..., Any]) -> Any:
    try:
        return typing.get_type_hints(func, include_extras=True).get("return")
    except Exception:  # an unresolvable annotation: treat as absent
        return None


def _payload_type(reg: _Registration) -> Any:
    """A command's payload type: ``payload_model``, else its payload parameter's model."""
    if reg.payload_model is not None:
        return reg.payload_model
    return next((p.model for p in reg.plan.params if p.kind == "payload" and p.model), None)


class _Document:
    """Collects channels, operations and component schemas."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix  # the topic root; also the channels' x-cosalette-app
        self.channels: dict[str, dict[str, Any]] = {}
        self.operations: dict[str, dict[str, Any]] = {}
        self.defs: dict[str, Any] = {}

    def address(self, reg: _Registration, suffix: str) -> str:
        return DeviceTopics.of(self.prefix, reg.name, is_root=reg.is_root).channel(suffix)

    def state_of(self, reg: _Registration, *, fallback: bool) -> dict[str, Any] | None:
        model = reg.state_model if reg.state_model is not None else _return_annotation(reg.func)
        schema = type_schema(model, self.defs)
        if schema is None and fallback:
            return dict(_OBJECT)
        return schema

    def channel(
        self, reg: _Registration, address: str, payload: dict[str, Any], archetype: str
    ) -> dict[str, Any]:
        channel: dict[str, Any] = {
            "address": address,
            "x-cosalette-app": self.prefix,
            "messages": {"message": {"payload": payload}},
            "x-cosalette-archetype": archetype,
        }
        if reg.tags:
            channel["tags"] = [{"name": t} for t in sorted(set(reg.tags))]
        if reg.summary:
            channel["x-cosalette-summary"] = reg.summary
        if reg.behavior:
            channel["x-cosalette-behavior"] = list(reg.behavior)
        if reg.effects:
            channel["x-cosalette-effects"] = list(reg.effects)
        return channel

    def operation(self, reg: _Registration, action: str, cid: str) -> dict[str, Any]:
        op: dict[str, Any] = {"action": action, "channel": {"$ref": f"#/channels/{cid}"}}
        if reg.summary:
            op["summary"] = reg.summary
        if reg.tags:
            op["tags"] = [{"name": t} for t in sorted(set(reg.tags))]
        return op

    def add_state(self, reg: _Registration, payload: dict[str, Any], archetype: str) -> None:
        """The ``<id>State`` channel; a taken id keeps its metadata and merges payloads."""
        cid = f"{channel_id(reg.name)}State"
        existing = self.channels.get(cid)
        if existing is not None:
            message = existing["messages"]["message"]
            if message["payload"] != payload:
                message["payload"] = {"oneOf": [message["payload"], payload]}
            return
        self.channels[cid] = self.channel(reg, self.address(reg, "state"), payload, archetype)
        self.operations[f"publish{pascal(reg.name)}State"] = self.operation(reg, "send", cid)

    def add_command(self, reg: _Registration) -> None:
        """The ``<id>Command`` channel (the last registration of a name wins) and its state."""
        payload = type_schema(_payload_type(reg), self.defs) or dict(_OBJECT)
        cid = f"{channel_id(reg.name)}Command"
        self.channels[cid] = self.channel(reg, self.address(reg, "set"), payload, "command")
        self.operations[f"receive{pascal(reg.name)}Command"] = self.operation(reg, "receive", cid)
        state = self.state_of(reg, fallback=False)
        if state is not None:
            self.add_state(reg, state, "command")

    def render(self, title: str, version: str) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "asyncapi": ASYNCAPI_VERSION,
            "info": {
                "title": title,
                "version": version,
                "x-cosalette-contract-version": CONTRACT_VERSION,
                "x-cosalette-liveness": LIVENESS.format(status=status_topic(self.prefix)),
            },
        }
        if self.channels:
            doc["channels"] = dict(sorted(self.channels.items()))
            doc["operations"] = dict(sorted(self.operations.items()))
        if self.defs:
            doc["components"] = {"schemas": dict(sorted(self.defs.items()))}
        return doc


def build_asyncapi(app: App, settings: Settings | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of *app*; with *settings*, as that configuration runs it.

    With settings the configure hooks run, ``name=`` callables expand to their devices,
    disabled registrations are left out, and addresses and ``x-cosalette-app`` use the topic
    root (``mqtt.topic_prefix``, by default the app name). Without, a settings-derived
    registration appears under its handler's qualified name.
    """
    described = app.describe(settings)
    if settings is None:
        # enabled=False registrations were never recorded; callable ones stay
        declared = described.registrations
        regs: Registrations[Any, Any, Any, Any] = Registrations(
            devices=tuple(map(_qualified_if_dynamic, declared.devices)),
            telemetry=tuple(map(_qualified_if_dynamic, declared.telemetry)),
            commands=tuple(map(_qualified_if_dynamic, declared.commands)),
        )
        return asyncapi_document(described, regs, described.name)
    from cosalette._wiring.resolve import resolve_registrations

    regs = resolve_registrations(described.registrations, settings)
    return asyncapi_document(described, regs, topic_root(described.name, settings))


def asyncapi_document(
    described: AppDescription, regs: Registrations[Any, Any, Any, Any], prefix: str
) -> dict[str, Any]:
    """The document of *regs* (declared or resolved) published under *prefix*."""
    doc = _Document(prefix)
    for reg in regs.telemetry:
        doc.add_state(reg, doc.state_of(reg, fallback=True) or dict(_OBJECT), "telemetry")
    for command in regs.commands:
        doc.add_command(command)
    for reg in regs.devices:
        doc.add_state(reg, doc.state_of(reg, fallback=True) or dict(_OBJECT), "device")
    return doc.render(described.name, described.version)


def _qualified_if_dynamic(reg: _Registration) -> _Registration:
    """A ``name=`` callable's registration is named by its handler's qualified name."""
    if reg.name_spec is None:
        return reg
    from dataclasses import replace

    qualname = getattr(reg.func, "__qualname__", reg.name)
    return replace(reg, name=qualname)
