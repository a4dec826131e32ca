"""How one declared value reads in a manifest or the registry snapshot: schemas, intervals,
cron schedules, stores, adapters, strategy objects. Plain JSON-ready values, no app needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cosalette._di.adapters import AdapterEntry, describe_impl
from cosalette._di.plan import type_label
from cosalette._secrets import redact_schema
from cosalette._settings import SettingRef
from cosalette._stores import Store

__all__ = [
    "describe_adapters",
    "describe_interval",
    "describe_repr",
    "describe_schedule",
    "describe_store",
    "model_schema",
]


def model_schema(model: Any, *, mode: str = "validation") -> dict[str, Any] | None:
    """The JSON Schema of a pydantic model, dataclass or TypedDict (None if *model* is None)."""
    if model is None:
        return None
    from pydantic import TypeAdapter

    try:
        schema: dict[str, Any] = TypeAdapter(model).json_schema(mode=mode)  # type: ignore[arg-type]
    except Exception as exc:  # an arbitrary class pydantic cannot describe
        return {"title": type_label(model), "description": f"no JSON schema: {exc}"}
    schema = redact_schema(schema)  # no credentials or secret defaults in a contract
    return schema


def describe_interval(value: Any) -> Any:
    """Seconds as a float, ``setting:<field>`` for a SettingRef, else ``<deferred>``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, SettingRef):
        return f"setting:{value.field}"
    return "<deferred>"


def describe_store(store: object, *, default: bool = False) -> dict[str, Any] | None:
    """``{"backend", "path", "default"}`` for manifests and logs; None without persistence."""
    if store is None:
        return None
    if not isinstance(store, Store) or isinstance(store, type):
        name = getattr(store, "__qualname__", type(store).__name__)
        return {"backend": f"factory {name}", "path": None, "default": False}
    path = getattr(store, "path", None)
    return {
        "backend": type(store).__name__,
        "path": str(path) if isinstance(path, Path) else None,
        "default": default,
    }


def describe_adapters(entries: Mapping[Any, AdapterEntry], *, sort: bool = True) -> list[Any]:
    """Each port with its implementation and dry-run twin (sorted by port for manifests)."""
    rows = [
        {
            "port": type_label(port),
            "impl": describe_impl(entry.impl),
            "dry_run": describe_impl(entry.dry_run),
        }
        for port, entry in entries.items()
    ]
    return sorted(rows, key=lambda a: str(a["port"])) if sort else rows


def describe_repr(value: Any) -> str | None:
    """A strategy or policy object as its repr (``Name()`` without one); None stays None."""
    if value is None:
        return None
    if type(value).__repr__ is object.__repr__:  # type: ignore[comparison-overlap]
        return f"{type(value).__name__}()"
    return repr(value)


def describe_schedule(value: Any) -> str | None:
    """A cron schedule as its expression, ``setting:<field>`` or ``<deferred>``; None without."""
    if value is None or isinstance(value, str):
        return value
    from cosalette._cron import CronSchedule

    if isinstance(value, CronSchedule):
        return value.expression
    if isinstance(value, SettingRef):
        return f"setting:{value.field}"
    return "<deferred>"
