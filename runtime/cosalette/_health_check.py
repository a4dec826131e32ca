"""Reading and judging the health file a running app keeps fresh (``[health]`` settings).

Light on purpose: ``python -m cosalette health`` and ``cosactl health`` run every 30 s in a
container's HEALTHCHECK, so this module imports the standard library only (no pydantic, no
aiomqtt). The writer is ``_wiring/health_file.py``; the document it writes::

    {"pid": 12, "app": "gas2mqtt", "version": "1.0.0", "status": "running" | "stopped",
     "written_at": 1767225600.0, "written_at_iso": "2026-01-01T00:00:00+00:00",
     "connected": true, "disconnected_since": null | <epoch s>, "broker": "host:port",
     "devices": {"meter": "ok" | "error" | "circuit_open" | "unavailable"},
     "interval": 10.0, "stale_after": 35.0, "broker_unreachable_limit": 300.0}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_BROKER_UNREACHABLE_LIMIT",
    "DEFAULT_INTERVAL",
    "HEALTH_FILE_NAME",
    "HealthFileError",
    "Limits",
    "Verdict",
    "check_file",
    "default_health_path",
    "default_stale_after",
    "evaluate",
    "read_health_file",
]

HEALTH_FILE_NAME = "health.json"
DEFAULT_INTERVAL = 10.0
"""Seconds between two writes of the health file."""
DEFAULT_BROKER_UNREACHABLE_LIMIT = 300.0
"""Seconds the broker may be unreachable before the app counts as unhealthy."""
_STALE_MARGIN = 5.0


def default_stale_after(interval: float) -> float:
    """How old the file may get: three missed writes plus a margin (``3 * interval + 5``)."""
    return 3 * interval + _STALE_MARGIN


def default_health_path(app_name: str, store_file: Path | None = None) -> Path:
    """``health.json`` next to the app's store file (*store_file*: a project's ``[store]``, an
    App's ``JsonFileStore(path)``); without one, next to the default store: the folder of
    ``$<APP>_STORE_PATH``, else ``$XDG_STATE_HOME/<app>/``, else ``~/.local/state/<app>/``."""
    if store_file is not None:
        return store_file.parent / HEALTH_FILE_NAME
    from cosalette._store_path import default_store_path

    return default_store_path(app_name).parent / HEALTH_FILE_NAME


class HealthFileError(Exception):
    """The health file is missing, unreadable or not a health document (its message says)."""


@dataclass(frozen=True)
class Limits:
    """What counts as unhealthy; ``None`` takes the value the app wrote into the file."""

    max_age: float | None = None
    """The file is stale when older than this, s (file: ``stale_after``)."""
    broker_limit: float | None = None
    """The broker may be unreachable this long, s (file: ``broker_unreachable_limit``)."""


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: ``ok`` and a one-line summary (``healthy: ...`` or
    ``unhealthy: ...``), the reasons it is unhealthy, and the document read (if any)."""

    ok: bool
    reasons: tuple[str, ...]
    summary: str
    document: Mapping[str, Any] | None = None

    def to_json(self, path: Path | None = None) -> str:
        """The verdict as one JSON object (``--json``)."""
        data: dict[str, Any] = {
            "healthy": self.ok,
            "reasons": list(self.reasons),
            "summary": self.summary,
        }
        if path is not None:
            data["file"] = str(path)
        data["document"] = dict(self.document) if self.document is not None else None
        return json.dumps(data, ensure_ascii=False)


def read_health_file(path: Path) -> dict[str, Any]:
    """The health document at *path*; a :class:`HealthFileError` says what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HealthFileError(
            f"health file {path} is missing (the app is not running, has not started yet, "
            f"or writes it elsewhere: [health] file)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise HealthFileError(f"health file {path} is unreadable: {reason}") from None
    try:
        doc = json.loads(text)
    except ValueError:
        raise HealthFileError(f"health file {path} is corrupt: not JSON") from None
    if not isinstance(doc, dict):
        raise HealthFileError(f"health file {path} is corrupt: not a JSON object")
    written = doc.get("written_at")
    if isinstance(written, bool) or not isinstance(written, int | float):
        raise HealthFileError(f"health file {path} is corrupt: no 'written_at' time")
    return doc


def _number(doc: Mapping[str, Any], key: str) -> float | None:
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if abs(value) >= 10 else f"{value:.1f} s"


def evaluate(doc: Mapping[str, Any], now: float, limits: Limits = Limits()) -> Verdict:
    """Judge health document *doc* at wall time *now* (epoch seconds).

    Unhealthy when the app stopped, the file is older than the stale limit, the broker has
    been unreachable longer than its limit, or a device is not ``ok``.
    """
    app = str(doc.get("app") or "the app")
    written = _number(doc, "written_at") or 0.0
    age = max(0.0, now - written)
    status = doc.get("status")
    if status != "running":
        what = "stopped" if status == "stopped" else f"in status {status!r}"
        reason = f"{app} {what} ({_seconds(age)} ago)"
        return Verdict(False, (reason,), f"unhealthy: {reason}", doc)
    reasons: list[str] = []
    max_age = limits.max_age
    if max_age is None:
        interval = _number(doc, "interval") or DEFAULT_INTERVAL
        max_age = _number(doc, "stale_after") or default_stale_after(interval)
    if age > max_age:
        reasons.append(
            f"stale: {app}'s health file was last written {_seconds(age)} ago "
            f"(limit {max_age:g} s); is the process hung or gone?"
        )
    broker = str(doc.get("broker") or "the broker")
    since = _number(doc, "disconnected_since")
    connected = doc.get("connected", True) is not False
    down = max(0.0, now - since) if since is not None and not connected else 0.0
    limit = limits.broker_limit
    if limit is None:
        limit = _number(doc, "broker_unreachable_limit")
        limit = DEFAULT_BROKER_UNREACHABLE_LIMIT if limit is None else limit
    if not connected and down > limit:
        reasons.append(f"broker {broker} unreachable for {_seconds(down)} (limit {limit:g} s)")
    devices = doc.get("devices")
    devices = devices if isinstance(devices, dict) else {}
    by_status: dict[str, list[str]] = {}
    for name, state in sorted(devices.items()):
        if state != "ok":
            by_status.setdefault(str(state), []).append(str(name))
    for state, names in sorted(by_status.items(), key=lambda item: item[0] != "error"):
        label = "in error" if state == "error" else state.replace("_", " ")
        reasons.append(f"devices {label}: {', '.join(names)}")
    if reasons:
        return Verdict(False, tuple(reasons), "unhealthy: " + "; ".join(reasons), doc)
    link = "connected" if connected else f"unreachable for {_seconds(down)}"
    version = f" v{doc['version']}" if doc.get("version") else ""
    pid = f" (pid {doc['pid']})" if doc.get("pid") is not None else ""
    count = len(devices)
    summary = (
        f"healthy: {app}{version}{pid}, broker {broker} {link}, "
        f"{count} device{'' if count == 1 else 's'} ok, written {_seconds(age)} ago"
    )
    return Verdict(True, (), summary, doc)


def check_file(path: Path, now: float, limits: Limits = Limits()) -> Verdict:
    """Read *path* and :func:`evaluate` it; a missing or broken file is unhealthy."""
    try:
        doc = read_health_file(path)
    except HealthFileError as exc:
        return Verdict(False, (str(exc),), f"unhealthy: {exc}")
    return evaluate(doc, now, limits)
