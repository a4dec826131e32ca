"""A JSON-ready snapshot of an app's registrations, and two ways to print it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cosalette._contract.values import describe_adapters, describe_interval, describe_repr
from cosalette._di.plan import callable_label, type_label

if TYPE_CHECKING:
    from cosalette._app.app import App


def _model(model: Any) -> str | None:
    return type_label(model) if model is not None else None


def _common(reg: Any) -> dict[str, Any]:
    return {
        "name": reg.name,
        "handler": callable_label(reg.func),
        "root": reg.is_root,
        "dynamic": reg.name_spec is not None,
        "tags": list(reg.tags),
        "summary": reg.summary,
        "behavior": list(reg.behavior),
        "effects": list(reg.effects),
        "state_model": _model(reg.state_model),
        "payload_model": _model(reg.payload_model),
        "dependencies": [type_label(p.annotation) for p in reg.plan.injected()],
    }


def _strategy(strategy: Any) -> str | None:
    return None if strategy is None else type(strategy).__name__


def _coping(reg: Any) -> dict[str, Any]:
    """The spec's group, retry and trigger keys of a telemetry registration."""
    return {
        "group": reg.group,
        "retry": reg.retry,
        "retry_on": [type_label(e) for e in reg.retry_on] if reg.retry_on else None,
        "backoff": describe_repr(reg.backoff),
        "circuit_breaker": describe_repr(reg.circuit_breaker),
        "triggerable": reg.triggerable,
    }


def build_registry_snapshot(app: App) -> dict[str, Any]:
    """Describe the app, its devices, telemetry, commands, periodic tasks and adapters.

    The spec's per-registration view of an app (resolved values once it started, like its
    registration views); ``cosactl manifest`` and ``--show-devices`` render the per-device
    manifest instead. Both share how an interval and an adapter are described.
    """
    described = app.describe()
    return {
        "app": {
            "name": described.name,
            "version": described.version,
            "description": described.description,
        },
        "devices": [_common(r) for r in app.devices],
        "telemetry": [
            {
                **_common(r),
                "interval": describe_interval(r.interval),
                "strategy": _strategy(r.publish),
                **_coping(r),
            }
            for r in app.telemetry_registrations
        ],
        "commands": [
            {
                **_common(r),
                "sub": r.sub,
                "sub_key": r.sub_key,
                "unavailable_on": [e.__name__ for e in r.unavailable_on],
            }
            for r in app.commands
        ],
        "periodic": [
            {**_common(r), "interval": describe_interval(r.interval)}
            for r in app.periodic_registrations
        ],
        "adapters": describe_adapters(described.adapters, sort=False),
    }


def format_registry_json(snapshot: dict[str, Any]) -> str:
    """The snapshot as indented JSON."""
    return json.dumps(snapshot, indent=2, ensure_ascii=False)


def _section(lines: list[str], title: str, rows: list[list[str]], headers: list[str]) -> None:
    if not rows:
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    fmt: Callable[[list[str]], str] = lambda cells: "  ".join(  # noqa: E731
        c.ljust(w) for c, w in zip(cells, widths, strict=True)
    ).rstrip()
    lines += ["", f"{title}:", "  " + fmt(headers)]
    lines += ["  " + fmt(r) for r in rows]


def format_registry_table(snapshot: dict[str, Any]) -> str:
    """The snapshot as aligned plain-text tables."""
    app = snapshot["app"]
    header = f"{app['name']} v{app['version']}"
    if app.get("description"):
        header += f" — {app['description']}"
    lines = [header]
    _section(
        lines,
        "Telemetry",
        [
            [t["name"], str(t["interval"]), t["strategy"] or "-", t["handler"]]
            for t in snapshot.get("telemetry", [])
        ],
        ["name", "interval", "strategy", "handler"],
    )
    _section(
        lines,
        "Commands",
        [
            [c["name"], c["sub"] or "-", c["payload_model"] or "-", c["handler"]]
            for c in snapshot.get("commands", [])
        ],
        ["name", "sub", "payload", "handler"],
    )
    _section(
        lines,
        "Devices",
        [[d["name"], d["handler"]] for d in snapshot.get("devices", [])],
        ["name", "handler"],
    )
    _section(
        lines,
        "Periodic",
        [[p["name"], str(p["interval"]), p["handler"]] for p in snapshot.get("periodic", [])],
        ["name", "interval", "handler"],
    )
    _section(
        lines,
        "Adapters",
        [[a["port"], a["impl"] or "-", a["dry_run"] or "-"] for a in snapshot.get("adapters", [])],
        ["port", "impl", "dry_run"],
    )
    return "\n".join(lines)
