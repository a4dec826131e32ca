"""The root of ``python -m cosalette``: ``--version``, the lazy command table, Ctrl-C."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from cosalette import __version__
from cosalette._cli import Failure
from cosalette._cli.lazy import LazyGroup

__all__ = ["COMMANDS", "SHORT_HELP", "cli", "main", "main_cli"]

# name → "module:attribute" of the click command, imported only when that command runs.
COMMANDS: dict[str, str] = {
    "manifest": "cosalette._cli.manifest_command:manifest",
    "schema": "cosalette._cli.schema_commands:schema",
    "health": "cosalette._cli.health_command:health",
}

SHORT_HELP: dict[str, str] = {
    "manifest": "Print an app's AsyncAPI document as JSON, or as a table.",
    "schema": "AsyncAPI schemas: export, check, validate; ACL, HA and openHAB configs.",
    "health": "Exit 1 when a running app's health file says it is unhealthy.",
}

INTERRUPTED = "\n❌ Interrupted"


class RootGroup(LazyGroup):
    """The lazy group that turns Ctrl-C (while parsing or in any command) into
    ``❌ Interrupted`` (exit 1), where click would print "Aborted!"."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except KeyboardInterrupt:
            raise Failure(INTERRUPTED) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Failure(INTERRUPTED) from None


@click.group(
    cls=RootGroup,
    lazy_commands=COMMANDS,
    lazy_help=SHORT_HELP,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(
    __version__,
    "--version",
    "-v",
    prog_name="cosalette",
    message="%(prog)s v%(version)s",
    help="Print 'cosalette v<version>' and exit.",
)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Schema tools for cosalette apps (AsyncAPI document, checks, ACLs, HA), and a health check.

    APP_SPEC / --app is 'module.path:attribute', imported with the current directory on
    sys.path (importing runs the module's top-level code).

    \b
    Examples:
      python -m cosalette manifest gas2mqtt.main:app --table
      python -m cosalette schema init --app gas2mqtt.main:app > docs/schema.yaml
      python -m cosalette schema check --app gas2mqtt.main:app --schema docs/schema.yaml
      python -m cosalette schema ha-discovery docs/schema.yaml --format yaml
      python -m cosalette health --file /data/health.json

    \b
    Exit codes: 0 ok, 1 the command failed or found violations, 2 usage error.
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


def main(args: Sequence[str] | None = None) -> None:
    """Run the CLI (``python -m cosalette``); exits with the command's exit code."""
    cli.main(args=list(args) if args is not None else None, prog_name="python -m cosalette")


main_cli = main
"""The entry point under the name other tools know it by."""
