"""The MQTT contract of an app: every device with its topics, schedule, adapters and schemas.

``build_manifest`` returns a JSON-ready dict in a deterministic order (devices sorted by name),
so it can be written to a file and compared in CI with ``diff_manifests``.
"""

from __future__ import annotations

import difflib
import importlib
import json
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from cosalette._app.registration import (
    Registrations,
    _CommandRegistration,
    _PeriodicRegistration,
    _Registration,
    _StreamRegistration,
    _TelemetryRegistration,
)
from cosalette._contract.table import format_manifest_table
from cosalette._contract.values import (
    describe_adapters,
    describe_interval,
    describe_repr,
    describe_schedule,
    describe_store,
    model_schema,
)
from cosalette._di.plan import callable_label, type_label
from cosalette._settings import SettingRef, Settings
from cosalette._topics import LIVENESS, DeviceTopics, app_error_topic, status_topic, topic_root

if TYPE_CHECKING:
    from cosalette._app.app import App
    from cosalette._app.description import AppDescription

__all__ = [
    "build_manifest",
    "describe_adapters",
    "describe_interval",
    "describe_repr",
    "describe_schedule",
    "describe_store",
    "diff_manifests",
    "format_manifest_table",
    "manifest_to_json",
    "manifest_to_yaml",
    "model_schema",
]

MANIFEST_VERSION = 1


def _retry(reg: _TelemetryRegistration) -> dict[str, Any]:
    """Attempts, exception names and backoff, with the defaults a run applies when unset."""
    from cosalette._retry import ExponentialBackoff

    on = reg.retry_on if reg.retry_on is not None else (OSError,)
    backoff = reg.backoff if reg.backoff is not None else ExponentialBackoff()
    return {
        "attempts": reg.retry,
        "on": [type_label(e) for e in on],
        "backoff": describe_repr(backoff),
    }


def _timeout_given(value: Any) -> bool:
    """A timeout was declared: seconds, a SettingRef or a callable (not omitted, not None)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float | SettingRef) or callable(value)


def _telemetry_options(
    reg: _TelemetryRegistration, declared: _Registration
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The options a telemetry device sets, as (timing keys, behaviour keys).

    Only options that are set appear, so the entry of a device without them is unchanged.
    *declared* is the registration before settings resolved it: an omitted timeout resolves
    to the interval, which is not a declared timeout.
    """
    timing: dict[str, Any] = {}
    if reg.schedule is not None:
        timing["schedule"] = describe_schedule(reg.schedule)
    if reg.group is not None:
        timing["group"] = reg.group
    behaviour: dict[str, Any] = {}
    if reg.triggerable:
        behaviour["triggerable"] = True
    if reg.retry:
        behaviour["retry"] = _retry(reg)
    if reg.circuit_breaker is not None:
        threshold = getattr(reg.circuit_breaker, "threshold", None)
        behaviour["circuit_breaker"] = {"threshold": threshold}
    if _timeout_given(getattr(declared, "timeout", None)):
        behaviour["timeout"] = describe_interval(reg.timeout)
    return timing, behaviour


def _payload_names(reg: _Registration) -> set[str]:
    if not isinstance(reg, _CommandRegistration):
        return set()
    from cosalette._runners.command import payload_params_for

    payload, topics = payload_params_for(reg)
    return {p.name for p in payload} | set(topics)


def _dependencies(
    regs: Sequence[_Registration], ports: Iterable[Any]
) -> tuple[list[str], list[str]]:
    port_set = set(ports)
    deps: dict[str, None] = {}
    used: dict[str, None] = {}
    for reg in regs:
        skip = _payload_names(reg)
        for p in reg.plan.injected():
            if p.name in skip:
                continue
            deps[type_label(p.annotation)] = None
            if p.annotation in port_set:
                used[type_label(p.annotation)] = None
    return list(used), list(deps)


def _payload_models(regs: Sequence[_Registration]) -> list[Any]:
    models: list[Any] = []
    for reg in regs:
        model = reg.payload_model
        if model is None:
            model = next(
                (p.model for p in reg.plan.params if p.kind == "payload" and p.model), None
            )
        if model is not None and model not in models:
            models.append(model)
    return models


def _one_of(schemas: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """One schema as it is; several as ``oneOf`` with their ``$defs`` merged at the top."""
    present = [s for s in schemas if s is not None]
    if len(present) <= 1:
        return present[0] if present else None
    defs: dict[str, Any] = {}
    options = []
    for schema in present:
        schema = dict(schema)
        defs.update(schema.pop("$defs", {}))
        options.append(schema)
    return {"oneOf": options, **({"$defs": defs} if defs else {})}


def _topics(prefix: str, reg: _Registration, kind: str) -> dict[str, str]:
    if kind == "periodic":
        return {}
    if reg.name_spec is not None:
        device = DeviceTopics("/".join(p for p in (prefix, reg.prefix, "+") if p))
    else:
        device = DeviceTopics.of(prefix, reg.name, is_root=reg.is_root)
    topics = {"state": device.state}
    triggerable = isinstance(reg, _TelemetryRegistration) and reg.triggerable
    if kind in ("command", "device") or triggerable:
        topics["set"] = device.set
    topics["availability"] = device.availability
    topics["error"] = device.error
    return topics


def _entry(
    kind: str,
    regs: Sequence[_Registration],
    prefix: str,
    ports: Iterable[Any],
    source: Callable[[_Registration], _Registration],
) -> dict[str, Any]:
    first = regs[0]
    adapters, deps = _dependencies(regs, ports)
    interval: Any = None
    interval_setting: str | None = None
    timing: dict[str, Any] = {}
    behaviour: dict[str, Any] = {}
    if isinstance(first, _TelemetryRegistration):
        timing, behaviour = _telemetry_options(first, source(first))
    cron = "schedule" in timing  # cron telemetry has no interval (the record holds 0.0)
    if isinstance(first, _TelemetryRegistration | _PeriodicRegistration) and not cron:
        interval = describe_interval(first.interval)
        original = getattr(source(first), "interval", None)
        if isinstance(original, SettingRef):
            interval_setting = original.field
    payload_schema = _one_of([model_schema(m) for m in _payload_models(regs)])
    entry: dict[str, Any] = {
        "name": first.name,
        "kind": kind,
        "root": first.is_root,
        "dynamic": first.name_spec is not None,
        "handlers": [callable_label(r.func) for r in regs],
        "tags": list(dict.fromkeys(t for r in regs for t in r.tags)),
        "topics": _topics(prefix, first, kind),
        "interval": interval,
        "interval_setting": interval_setting,
        **timing,
        "strategy": describe_repr(getattr(first, "publish", None)),
        **behaviour,
        "adapters": adapters,
        "dependencies": deps,
        "summary": next((r.summary for r in regs if r.summary), None),
        "behavior": [b for r in regs for b in r.behavior],
        "effects": [e for r in regs for e in r.effects],
        "state_schema": model_schema(
            next((r.state_model for r in regs if r.state_model is not None), None),
            mode="serialization",
        ),
        "payload_schema": payload_schema,
    }
    if isinstance(first, _CommandRegistration):
        subs = [r.sub for r in regs if isinstance(r, _CommandRegistration) and r.sub]
        entry["sub_key"] = first.sub_key if subs else None
        entry["subcommands"] = subs
    return entry


def _stream_entry(reg: _StreamRegistration, prefix: str, ports: Iterable[Any]) -> dict[str, Any]:
    """A stream: items its port pushes; it publishes state and errors, no availability."""
    device = DeviceTopics.of(prefix, reg.name, is_root=reg.is_root)
    port_set = set(ports)
    injected = [p.annotation for p in reg.plan.injected() if p.name != reg.stream_param]
    adapters = [type_label(a) for a in (reg.port_key, *injected) if a in port_set]
    return {
        "name": reg.name,
        "kind": "stream",
        "root": reg.is_root,
        "dynamic": False,
        "handlers": [callable_label(reg.func)],
        "tags": list(reg.tags),
        "topics": {"state": device.state, "error": device.error},
        "item_type": type_label(reg.item_type),
        "port": type_label(reg.port_key),
        "maxsize": reg.maxsize,
        "backpressure": reg.backpressure,
        "adapters": list(dict.fromkeys(adapters)),
        "dependencies": [type_label(a) for a in injected],
        "summary": reg.summary,
        "behavior": list(reg.behavior),
        "effects": list(reg.effects),
        "state_schema": model_schema(reg.state_model, mode="serialization"),
    }


def build_manifest(app: App, settings: Settings | None = None) -> dict[str, Any]:
    """Describe *app*'s MQTT contract; with *settings*, deferred values are resolved.

    Without settings, intervals given as ``setting_ref`` read ``"setting:<field>"`` and
    dynamically named devices use ``+`` in their topics.
    """
    described = app.describe(settings)
    prefix = topic_root(described.name, settings)
    declared = described.registrations
    regs: Registrations[Any, Any, Any, Any] = declared
    if settings is not None:
        from cosalette._wiring.resolve import resolve_registrations

        regs = resolve_registrations(declared, settings)
    originals = {id(r.func): r for r in declared.all()}

    def source(reg: _Registration) -> _Registration:
        return originals.get(id(reg.func), reg)

    ports = list(described.adapters)
    devices: list[dict[str, Any]] = []
    devices += [_entry("telemetry", [r], prefix, ports, source) for r in regs.telemetry]
    groups: dict[str, list[_Registration]] = {}
    for command in regs.commands:
        groups.setdefault(command.name, []).append(command)
    devices += [_entry("command", g, prefix, ports, source) for g in groups.values()]
    devices += [_entry("device", [r], prefix, ports, source) for r in regs.devices]
    devices += [_entry("periodic", [r], prefix, ports, source) for r in regs.periodic]
    devices += [_stream_entry(r, prefix, ports) for r in regs.streams]
    devices.sort(key=lambda d: (d["name"], d["kind"]))
    return {
        "manifest_version": MANIFEST_VERSION,
        "app": {
            "name": described.name,
            "version": described.version,
            "description": described.description,
            "topic_prefix": prefix,
        },
        "topics": {
            "status": status_topic(prefix),
            "error": app_error_topic(prefix),
            "liveness": LIVENESS.format(status=status_topic(prefix)),
        },
        "devices": devices,
        "adapters": describe_adapters(described.adapters),
        "store": describe_store(described.store, default=described.store_is_default),
        **_shared_state(described),
    }


def _shared_state(described: AppDescription) -> dict[str, Any]:
    """``{"state": [...]}`` when the app has ``@app.state`` types (absent otherwise)."""
    if not described.state_factories:
        return {}
    return {
        "state": [
            {
                "type": type_label(factory.type),
                "factory": callable_label(factory.func),
                "reactors": [
                    callable_label(r.func)
                    for r in described.reactors
                    if r.state_type is factory.type
                ],
            }
            for factory in described.state_factories
        ]
    }


# --------------------------------------------------------------------------- renderings


def manifest_to_json(doc: dict[str, Any]) -> str:
    """*doc* as indented JSON with a final newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def manifest_to_yaml(doc: dict[str, Any]) -> str:
    """*doc* as YAML, keys in the manifest's own order."""
    yaml: Any = importlib.import_module("yaml")
    text: str = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return text


def diff_manifests(
    expected: dict[str, Any],
    actual: dict[str, Any],
    expected_name: str = "expected",
    actual_name: str = "actual",
) -> str:
    """A unified diff of the two manifests rendered as JSON; empty when they are equal."""
    if expected == actual:
        return ""

    def render(doc: dict[str, Any]) -> list[str]:
        return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").splitlines(
            keepends=True
        )

    return "".join(
        difflib.unified_diff(
            render(expected), render(actual), fromfile=expected_name, tofile=actual_name
        )
    )
