"""``python -m cosalette manifest APP_SPEC [--table]``: an app's AsyncAPI document."""

from __future__ import annotations

import json
from typing import Any

import click

__all__ = ["format_asyncapi_table", "manifest"]

_SECTIONS = {"device": "Devices", "telemetry": "Telemetry", "command": "Commands"}


@click.command(
    short_help="Print an app's AsyncAPI document as JSON, or as a table.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.argument("app_spec", metavar="APP_SPEC")
@click.option(
    "--table",
    is_flag=True,
    help="Print a table (one row per channel: name, address, summary) instead of JSON.",
)
def manifest(app_spec: str, table: bool) -> None:
    """Print the AsyncAPI document of the app APP_SPEC ('module.path:attribute') as JSON.

    Importing the module runs its top-level code: only point it at code you trust.

    \b
    Examples:
      python -m cosalette manifest gas2mqtt.main:app
      python -m cosalette manifest gas2mqtt.main:app --table
    """
    from cosalette._cli.app_spec import load_app

    app = load_app(app_spec, manifest=True)
    document = app.asyncapi()
    click.echo(format_asyncapi_table(document) if table else json.dumps(document, indent=2))


def _strip_suffix(channel_id: str) -> str:
    for suffix in ("Command", "State"):
        if channel_id.endswith(suffix):
            return channel_id[: -len(suffix)]
    return channel_id


def format_asyncapi_table(document: dict[str, Any]) -> str:
    """The document's channels as text: ``<title> v<version>``, then one section per archetype
    (Devices, Telemetry, Commands, then any other archetype, or Other when a channel has none),
    each a blank line and its label, then ``  <name, padded>  <address>[  — <summary>]`` rows
    in channel-id order."""
    info = document.get("info") or {}
    lines = [f"{info.get('title', '')} v{info.get('version', '')}"]
    groups: dict[str, list[tuple[str, str, str]]] = {}
    for channel_id, channel in sorted((document.get("channels") or {}).items()):
        archetype = str(channel.get("x-cosalette-archetype", "other"))
        row = (
            _strip_suffix(channel_id),
            str(channel.get("address", "")),
            str(channel.get("x-cosalette-summary") or ""),
        )
        groups.setdefault(archetype, []).append(row)
    order = [*_SECTIONS, *(archetype for archetype in groups if archetype not in _SECTIONS)]
    labels = {**_SECTIONS, "other": "Other"}
    for archetype in order:
        rows = groups.get(archetype)
        if not rows:
            continue
        lines += ["", labels.get(archetype, archetype.capitalize())]
        width = max(len(name) for name, _, _ in rows)
        for name, address, summary in rows:
            lines.append(f"  {name:{width}}  {address}" + (f"  — {summary}" if summary else ""))
    return "\n".join(lines)
