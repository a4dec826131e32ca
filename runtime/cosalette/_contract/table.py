"""A manifest as an aligned plain-text table: what ``--show-devices`` and ``cosactl`` print."""

from __future__ import annotations

from typing import Any

__all__ = ["format_manifest_table"]

_MARKS_LEGEND = [
    "Marks: T triggerable (a message on <base>/set reads it now), R<n> n retries,",
    "       B<n> circuit breaker after n failed cycles, t<s> timeout of one cycle.",
]


def _interval_cell(device: dict[str, Any]) -> str:
    """``60s (poll, group optolink)``, ``cron 0 0 6 ? * MON-FRI``, ``push`` (streams) or ``-``."""
    if device.get("kind") == "stream":
        return "push"
    notes = [device["interval_setting"]] if device.get("interval_setting") else []
    if device.get("group"):
        notes.append(f"group {device['group']}")
    interval = device.get("interval")
    if device.get("schedule") is not None:
        text = f"cron {device['schedule']}"
    elif isinstance(interval, float):
        text = f"{interval:g}s"
    elif interval is not None:
        text = str(interval)
    else:
        return "-"
    return f"{text} ({', '.join(notes)})" if notes else text


def _seconds(value: Any) -> str:
    return f"{value:g}s" if isinstance(value, float) else f"({value})"


def _marks_cell(device: dict[str, Any]) -> str:
    """Compact marks for triggers, retries, the circuit breaker and the timeout."""
    marks = ["T"] if device.get("triggerable") else []
    if device.get("retry"):
        marks.append(f"R{device['retry']['attempts']}")
    if device.get("circuit_breaker"):
        marks.append(f"B{device['circuit_breaker']['threshold']}")
    if "timeout" in device:
        marks.append(f"t{_seconds(device['timeout'])}")
    return " ".join(marks)


def _aligned(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    return [
        "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
        for cells in [headers, *rows]
    ]


def format_manifest_table(manifest: dict[str, Any]) -> str:
    """*manifest* as aligned plain text: one row per device with its topics.

    A MARKS column (and a line explaining it) appears only when a device has marks.
    """
    app = manifest["app"]
    header = f"{app['name']} v{app['version']}"
    if app.get("description"):
        header += f" — {app['description']}"
    devices = manifest.get("devices", [])
    marks = [_marks_cell(d) for d in devices]
    headers = ["DEVICE", "KIND", "INTERVAL", "STRATEGY", "STATE", "SET", "ADAPTERS"]
    rows = [
        [
            d["name"],
            d["kind"],
            _interval_cell(d),
            d.get("strategy") or "-",
            d["topics"].get("state", "-"),
            d["topics"].get("set", "-"),
            ", ".join(d.get("adapters") or []) or "-",
        ]
        for d in devices
    ]
    if any(marks):
        headers.insert(3, "MARKS")
        for row, mark in zip(rows, marks, strict=True):
            row.insert(3, mark or "-")
    lines = [header, f"topic prefix: {app['topic_prefix']}", ""]
    lines += _aligned(headers, rows) if rows else ["(no devices)"]
    topics = manifest.get("topics", {})
    lines += [
        "",
        "Every device also publishes <base>/availability (online/offline) and <base>/error.",
        f"App topics: {topics.get('status')} (heartbeat; last will 'offline'), "
        f"{topics.get('error')} (every error).",
        f"Liveness: trust {topics.get('status')}; after a crash a device's availability "
        "keeps its last value (one last will per connection).",
    ]
    if any(d.get("kind") == "stream" for d in devices):
        lines.append(
            "Streams publish as their port pushes items (no availability); the heartbeat "
            "counts each stream's drops."
        )
    if any(marks):
        lines += _MARKS_LEGEND
    store = manifest.get("store")
    if store is not None:
        where = f" at {store['path']}" if store.get("path") else ""
        default = " (the default; set [store] or store= to choose)" if store.get("default") else ""
        lines += ["", f"Store: {store['backend']}{where}{default}"]
    elif "store" in manifest:
        lines += ["", "Store: none (device state is not persisted)"]
    for state in manifest.get("state") or []:
        reactors = ", ".join(state["reactors"]) or "no reactors"
        lines += [f"Shared state: {state['type']} ({reactors})"]
    adapters = manifest.get("adapters") or []
    if adapters:
        lines += ["", "Adapters:"]
        for a in adapters:
            fake = f" (dry run: {a['dry_run']})" if a.get("dry_run") else ""
            lines.append(f"  {a['port']}: {a['impl']}{fake}")
    return "\n".join(lines)
