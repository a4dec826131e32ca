"""``schema check`` (an app's registrations against a schema file) and ``schema slice`` (one
app's part of a network-level schema), contract section 3.4."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from cosalette._schema.document import app_names, is_network_level

__all__ = ["check_report", "schema_devices", "slice_app"]

DEVICE_PARAMETER = "{deviceName}"
SCOPED_SUFFIXES = ("status", "availability")
ENFORCEMENT_DEFAULTS: dict[str, Any] = {"mode": "warn", "on_configure": True, "on_publish": False}
MQTT_BINDING_DEFAULTS: dict[str, Any] = {"qos": 0, "retain": False}
_SLICE_KEYS = (
    "address",
    "x-cosalette-app",
    "x-cosalette-archetype",
    "x-cosalette-scope",
    "x-cosalette-coalescing-group",
)


def _channels(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    channels = doc.get("channels") or {}
    return {cid: c for cid, c in channels.items() if isinstance(c, dict)}


def _device_part(address: str) -> str | None:
    """``app/a/b/sfx`` -> ``a/b``; None for an address of fewer than 3 segments."""
    parts = address.split("/")
    return "/".join(parts[1:-1]) if len(parts) >= 3 else None


def _template_names(channel: dict[str, Any]) -> list[str] | None:
    """The ``deviceName`` parameter's ``enum`` of a templated channel, or None without one."""
    parameters = channel.get("parameters")
    parameter = parameters.get("deviceName") if isinstance(parameters, dict) else None
    names = parameter.get("enum") if isinstance(parameter, dict) else None
    return [str(n) for n in names] if isinstance(names, list) else None


def schema_devices(doc: dict[str, Any]) -> set[str]:
    """The device names the schema declares: a ``{deviceName}`` channel's parameter ``enum``,
    and the middle segments of archetype channels with at least 3 address segments."""
    devices: set[str] = set()
    for channel in _channels(doc).values():
        address = channel.get("address")
        if not isinstance(address, str):
            continue
        if DEVICE_PARAMETER in address:
            devices.update(_template_names(channel) or [])
            continue
        device = _device_part(address)
        if device and channel.get("x-cosalette-archetype") is not None:
            devices.add(device)
    return devices


def _wildcards(doc: dict[str, Any]) -> list[re.Pattern[str]]:
    """A ``{deviceName}`` template without an ``enum`` accepts every name it matches."""
    patterns: list[re.Pattern[str]] = []
    for channel in _channels(doc).values():
        address = channel.get("address")
        if not isinstance(address, str) or DEVICE_PARAMETER not in address:
            continue
        device = _device_part(address)
        if device and _template_names(channel) is None:
            parts = re.split(r"\{[^{}/]*\}", device)
            patterns.append(re.compile("[^/]+".join(re.escape(p) for p in parts)))
    return patterns


def _app_view(doc: dict[str, Any], app_name: str) -> dict[str, Any]:
    """A network-level schema cut down to *app_name*'s channels plus the ``all_apps`` ones."""
    if not is_network_level(doc):
        return doc
    channels = {
        cid: c
        for cid, c in _channels(doc).items()
        if c.get("x-cosalette-app") == app_name or c.get("x-cosalette-scope") == "all_apps"
    }
    return {**doc, "channels": channels}


def _scope_violations(doc: dict[str, Any]) -> list[str]:
    """Addresses of ``all_apps`` channels whose last segment is not status/availability."""
    return sorted(
        str(channel.get("address", ""))
        for channel in _channels(doc).values()
        if channel.get("x-cosalette-scope") == "all_apps"
        and str(channel.get("address", "")).rsplit("/", 1)[-1] not in SCOPED_SUFFIXES
    )


def _result_line(violations: int, extra: int, compliant: int) -> str:
    if violations:
        extra_part = f", {extra} extra" if extra else ""
        return f"Result: {violations} violations{extra_part}, {compliant} compliant"
    if extra:
        return f"Result: {extra} extra, {compliant} compliant"
    return f"Result: 0 violations, {compliant} compliant"


def check_report(
    doc: dict[str, Any], *, schema_path: str, app_name: str, registered: Iterable[str]
) -> tuple[str, int]:
    """The ``schema check`` report (ending with ``Exit code: N``) and its exit code: 1 when a
    schema device is not registered or an ``all_apps`` channel is out of scope.

    An app a network-level schema does not list is a ValueError: the gate must not pass it.
    """
    if is_network_level(doc) and app_name not in app_names(doc):
        apps = ", ".join(app_names(doc))
        raise ValueError(f"App '{app_name}' not found in schema. Available apps: {apps}")
    view = _app_view(doc, app_name)
    devices = schema_devices(view)
    wildcards = _wildcards(view)
    names = set(registered)
    version = (doc.get("info") or {}).get("version", "")
    lines = [f"Schema: {schema_path} (v{version})", f"App:    {app_name}", ""]
    missing = sorted(devices - names)
    for device in missing:
        lines += [f"✗ {device} — MISSING", "  Declared in the schema but not registered.", ""]
    scope = _scope_violations(view)
    for address in scope:
        lines += [
            f"✗ {address} — SCOPE VIOLATION",
            "  x-cosalette-scope: all_apps is allowed only on status and availability channels.",
            "",
        ]
    compliant = extra = 0
    for name in sorted(names):
        if name in devices or any(p.fullmatch(name) for p in wildcards):
            compliant += 1
            lines.append(f"✓ {name} — OK")
        else:
            extra += 1
            lines += [f"⚠ {name} — EXTRA", "  Registered by the app but not in the schema."]
    while lines[-1] == "":
        lines.pop()
    violations = len(missing) + len(scope)
    code = 1 if violations else 0
    lines += ["", _result_line(violations, extra, compliant), f"Exit code: {code}"]
    return "\n".join(lines), code


def _slice_channel(channel: dict[str, Any]) -> dict[str, Any]:
    out = {key: channel[key] for key in _SLICE_KEYS if key in channel}
    bindings = channel.get("bindings")
    mqtt = bindings.get("mqtt") if isinstance(bindings, dict) else None
    if isinstance(mqtt, dict) and any(
        key != "bindingVersion" and MQTT_BINDING_DEFAULTS.get(key, object()) != value
        for key, value in mqtt.items()
    ):
        out["bindings"] = {"mqtt": mqtt}
    if "messages" in channel:
        out["messages"] = channel["messages"]
    return out


def slice_app(doc: dict[str, Any], app: str) -> dict[str, Any]:
    """*app*'s own part of a network-level schema (its channels and the ``all_apps`` ones, no
    operations); ValueError when the schema is not network-level or has no such app."""
    if not is_network_level(doc):
        raise ValueError(
            "Schema is not network-level: slice needs x-cosalette-enforcement.network_level: true"
        )
    apps = app_names(doc)
    if app not in apps:
        raise ValueError(f"App '{app}' not found in schema. Available apps: {', '.join(apps)}")
    info = doc.get("info") or {}
    out: dict[str, Any] = {
        "asyncapi": doc.get("asyncapi"),
        "info": {"title": app, "version": info.get("version")},
    }
    enforcement = {k: v for k, v in doc["x-cosalette-enforcement"].items() if k != "network_level"}
    if any(ENFORCEMENT_DEFAULTS.get(k, object()) != v for k, v in enforcement.items()):
        out["x-cosalette-enforcement"] = enforcement
    channels = _app_view(doc, app)["channels"]
    # One deepcopy for all channels keeps the sharing (YAML anchors) between them.
    copied = copy.deepcopy({cid: _slice_channel(c) for cid, c in channels.items()})
    out["channels"] = copied
    return out
