"""``cosactl remove``: undo an add — its files, its settings section, its record."""

from __future__ import annotations

import click

from cosactl._errors import EXIT_CHECK_FAILED, CosactlError
from cosactl.generate import ARCHETYPES

COLOUR = {"remove": "red", "update": "cyan", "keep": "yellow", "clear": "magenta"}


def _echo(action: str, path: str, detail: str = "") -> None:
    label = click.style(f"{action:<9}", fg=COLOUR.get(action, "blue"), bold=action in COLOUR)
    click.echo(f"{label} {path}{f' {detail}' if detail else ''}")


def _recorded_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[click.shell_completion.CompletionItem]:
    """Shell completion: the names `cosactl add` recorded in this project's .cosactl.json."""
    import json
    from pathlib import Path

    from click.shell_completion import CompletionItem

    from cosalette._project.root import find_project_root

    root = find_project_root(Path.cwd())
    try:
        record = json.loads((root / ".cosactl.json").read_text("utf-8")) if root else {}
        added = record.get("added", []) if isinstance(record, dict) else []
    except (OSError, ValueError):
        return []
    names = {e.get("name") for e in added if isinstance(e, dict)}
    return [
        CompletionItem(n)
        for n in sorted(n for n in names if isinstance(n, str))
        if n.startswith(incomplete)
    ]


@click.command()
@click.argument("name", shell_complete=_recorded_names)
@click.option(
    "--archetype",
    type=click.Choice(ARCHETYPES),
    help="Which add of NAME to undo, when NAME was added as two archetypes.",
)
@click.option(
    "--clear-retained",
    is_flag=True,
    help="Also clear the device's retained messages (state, availability, error, Home "
    "Assistant discovery configs) on the project's broker, before removing anything. Stop "
    "the bridge first: while it runs it publishes them again.",
)
@click.option(
    "--force", is_flag=True, help="Remove files and the section even if you changed them."
)
@click.option("--pretend", is_flag=True, help="Show what would be removed; change nothing.")
def remove(
    name: str, archetype: str | None, clear_retained: bool, force: bool, pretend: bool
) -> None:
    """Undo `cosactl add ... NAME`, from what the add recorded in .cosactl.json.

    Deletes the files the add created (an adapter created along with a device too), takes
    its [devices.NAME] section out of settings.toml (every other byte stays) and forgets the
    add. A file or section you changed since is refused with a diff unless --force; so is
    an adapter another device still uses. Folders are left, even when empty.

    \b
    Examples:
      cosactl remove counter --pretend
      cosactl remove counter --clear-retained
      cosactl remove magnetometer --archetype adapter
    """
    from cosactl._edit import GenerateError
    from cosactl._project import project_root
    from cosactl._remove import apply_remove, plan_remove

    root = project_root()
    try:
        plan = plan_remove(root, name, archetype, force=force)
    except GenerateError as exc:
        raise CosactlError(str(exc), exc.exit_code) from None
    cleared = None
    if clear_retained and plan.archetype != "adapter":  # an adapter has no topics
        cleared = _clear(plan.name, pretend)
    try:
        apply_remove(plan, pretend=pretend)
    except OSError as exc:
        raise CosactlError(f"cannot remove {name}: {exc}", EXIT_CHECK_FAILED) from None
    for step in plan.steps:
        _echo(step.action, step.path, step.detail)
    if cleared is not None:
        for topic in cleared[1]:
            _echo("clear", topic, "(retained)")
        if not cleared[1]:
            _echo("clear", f"{cleared[0]}/{name}/#", "(nothing retained)")
    if pretend:
        click.echo("--pretend: nothing was changed")


def _clear(name: str, pretend: bool) -> tuple[str, tuple[str, ...]]:
    """The topic root and the retained topics cleared (under *pretend*: found)."""
    import asyncio

    from cosactl._project import load
    from cosactl._remove.retained import BrokerError, clear_retained
    from cosalette._topics import topic_root

    project = load(dry_run=True)
    try:
        found = asyncio.run(clear_retained(project.settings, project.name, name, pretend=pretend))
    except BrokerError as exc:
        raise CosactlError(f"{exc}; nothing was removed", EXIT_CHECK_FAILED) from None
    return topic_root(project.name, project.settings), found.topics
