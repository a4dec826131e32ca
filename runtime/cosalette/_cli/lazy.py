"""A click group whose sub-commands are imported only when one of them is used.

``--help`` lists them from a table of one-line summaries without importing a command module,
so a CLI's help costs click and nothing else. ``python -m cosalette`` and ``cosactl`` both use
it; a subclass changes how a command is imported (:meth:`LazyGroup.import_command`) or how the
list is shown in ``--help`` (:meth:`LazyGroup.help_sections`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click

__all__ = ["HelpRow", "LazyGroup"]

HelpRow = tuple[str, str]
"""(command name, one-line summary), as ``--help`` lists it."""


class LazyGroup(click.Group):
    """A group whose commands come from *lazy_commands*: name → ``"module:attribute"``.

    *lazy_help* maps a name to the summary ``--help`` shows for it. Commands added the usual way
    (``add_command``, ``@group.command``) are listed after the lazy ones.
    """

    def __init__(
        self,
        *args: Any,
        lazy_commands: Mapping[str, str] | None = None,
        lazy_help: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, str] = dict(lazy_commands or {})
        self.lazy_help: dict[str, str] = dict(lazy_help or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        eager = [name for name in super().list_commands(ctx) if name not in self.lazy_commands]
        return [*self.lazy_commands, *sorted(eager)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.lazy_commands.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        return self.import_command(ctx, cmd_name, target)

    def import_command(self, ctx: click.Context, cmd_name: str, target: str) -> click.Command:
        """Import the command *target* (``"module:attribute"``) names."""
        module_name, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command (got {type(command).__name__})")
        return command

    def help_sections(
        self, ctx: click.Context, rows: list[HelpRow]
    ) -> list[tuple[str, list[HelpRow]]]:
        """The ``--help`` sections (heading, rows) that list *rows*; one "Commands" by default."""
        return [("Commands", rows)] if rows else []

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands without importing the lazy ones."""
        rows: list[HelpRow] = [(name, self.lazy_help.get(name, "")) for name in self.lazy_commands]
        limit = formatter.width - 6 - max((len(name) for name, _ in rows), default=0)
        for name in self.list_commands(ctx)[len(self.lazy_commands) :]:
            command = super().get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        for heading, section in self.help_sections(ctx, rows):
            with formatter.section(heading):
                formatter.write_dl(section)
