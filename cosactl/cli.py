"""The ``cosactl`` command group. Sub-commands are imported only when invoked, so
``cosactl --help`` stays fast (it imports click and nothing heavy)."""

from __future__ import annotations

import importlib
import importlib.util
import os
from typing import Any

import click

from cosactl import __version__

# name → "module:attribute" of the click command; one module per command.
COMMANDS: dict[str, str] = {
    "new": "cosactl.commands.new:new",
    "add": "cosactl.commands.add:add",
    "dev": "cosactl.commands.dev:dev",
    "run": "cosactl.commands.run:run",
    "test": "cosactl.commands.test:test",
    "manifest": "cosactl.commands.manifest:manifest",
}

SHORT_HELP: dict[str, str] = {
    "new": "Create a new project from the template.",
    "add": "Add a device, adapter or router to the project.",
    "dev": "Run the project with a local broker; reload on every save.",
    "run": "Run the project (production).",
    "test": "Run the project's tests.",
    "manifest": "Show every MQTT topic the project uses.",
}


class LazyGroup(click.Group):
    """A group that imports a sub-command's module only when that command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        available = [name for name in COMMANDS if _module_exists(COMMANDS[name])]
        return [*available, *sorted(super().list_commands(ctx))]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        if ctx.resilient_parsing and not _module_exists(target):
            return None
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            return None
        command = getattr(module, attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List commands from SHORT_HELP without importing them."""
        rows = [
            (name, SHORT_HELP.get(name, "")) for name in COMMANDS if _module_exists(COMMANDS[name])
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(target: str) -> bool:
    module_name = target.partition(":")[0]
    return importlib.util.find_spec(module_name) is not None


def _change_directory(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value:
        try:
            os.chdir(value)
        except OSError as exc:
            raise click.BadParameter(f"cannot change to {value}: {exc.strerror}") from None
    return value


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="cosactl")
@click.option(
    "-C",
    "directory",
    metavar="DIR",
    type=click.Path(file_okay=False),
    callback=_change_directory,
    expose_value=False,
    is_eager=True,
    help="Act on the project in DIR instead of the current directory.",
)
def cli() -> None:
    """Create, run and test cosalette IoT-to-MQTT bridge projects.

    \b
    Examples:
      cosactl new gas2mqtt && cd gas2mqtt
      cosactl add telemetry counter --interval 60
      cosactl dev                 # local broker, fake adapters, reload on save
      cosactl test
      cosactl manifest --format json
      cosactl run --dry-run

    Shell completion: eval "$(_COSACTL_COMPLETE=bash_source cosactl)"
    (zsh_source and fish_source work too).
    """


def main() -> None:
    """Console-script entry point."""
    cli()
