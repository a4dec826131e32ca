"""The ``cosactl`` command group. Sub-commands are imported only when invoked, so
``cosactl --help`` stays fast (it imports click and nothing heavy)."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import click

from cosactl import __version__
from cosactl._errors import EXIT_MISSING_EXTRA, CosactlError
from cosalette._cli.lazy import HelpRow, LazyGroup

# name → "module:attribute" of the click command; one module per command.
COMMANDS: dict[str, str] = {
    "new": "cosactl.commands.new:new",
    "add": "cosactl.commands.add:add",
    "dev": "cosactl.commands.dev:dev",
    "run": "cosactl.commands.run:run",
    "test": "cosactl.commands.test:test",
    "manifest": "cosactl.commands.manifest:manifest",
    "update": "cosactl.commands.update:update",
    "remove": "cosactl.commands.remove:remove",
    "watch": "cosactl.commands.watch:watch",
    "doctor": "cosactl.commands.doctor:doctor",
    "health": "cosactl.commands.health:health",
    "deploy": "cosactl.commands.deploy:deploy",
}

SHORT_HELP: dict[str, str] = {
    "new": "Create a new project from the template.",
    "add": "Add a device, adapter or router to the project.",
    "dev": "Run the project with a local broker; reload on every save.",
    "run": "Run the project (production).",
    "test": "Run the project's tests.",
    "manifest": "Show every MQTT topic the project uses.",
    "update": "Merge a newer project template into the project.",
    "remove": "Undo an add: its files, settings section and record.",
    "watch": "Show the live device table from the project's broker.",
    "doctor": "Check a deployment: settings, adapters, store, broker.",
    "health": "Exit non-zero when the running daemon is unhealthy.",
    "deploy": "Write a systemd unit or a Dockerfile for the project.",
}


# name → the third-party modules the command imports that only the [dev] extra installs
# (keep in step with [project.optional-dependencies] dev in pyproject.toml).
NEEDS: dict[str, tuple[str, ...]] = {
    "new": ("cookiecutter",),
    "add": ("jinja2", "tomlkit"),
    "dev": ("watchfiles",),
    "test": ("pytest",),
    "update": ("cookiecutter", "tomlkit"),
    "remove": ("tomlkit",),
}
EXTRA = "cosalette[dev]"


class CosactlGroup(LazyGroup):
    """The lazy group (commands imported only when used) that knows the [dev] extra.

    Every command is listed; one whose extra is missing fails with a one-line hint to install
    it (exit code 6) instead of click's "No such command".
    """

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        missing = missing_modules(cmd_name) if cmd_name in self.lazy_commands else []
        if missing:
            if ctx.resilient_parsing:  # shell completion: offer nothing, print nothing
                return None
            raise _missing_extra(cmd_name, missing[0])
        return super().get_command(ctx, cmd_name)

    def import_command(self, ctx: click.Context, cmd_name: str, target: str) -> click.Command:
        try:
            return super().import_command(ctx, cmd_name, target)
        except ModuleNotFoundError as exc:
            top = (exc.name or "").partition(".")[0]
            if top not in {m for needs in NEEDS.values() for m in needs}:
                raise  # not an extra's module: a broken installation, keep the traceback
            raise _missing_extra(cmd_name, top) from None

    def help_sections(
        self, ctx: click.Context, rows: list[HelpRow]
    ) -> list[tuple[str, list[HelpRow]]]:
        """Commands whose extra is missing in a section of their own (a marker on each line
        would wrap at 80 columns)."""
        unavailable = [row for row in rows if missing_modules(row[0])]
        available = [row for row in rows if row not in unavailable]
        sections = [("Commands", available)] if available else []
        if unavailable:
            sections.append((f"Commands that need {EXTRA} (pip install '{EXTRA}')", unavailable))
        return sections


def missing_modules(cmd_name: str) -> list[str]:
    """The modules *cmd_name* needs that cannot be found (found without importing them)."""
    return [name for name in NEEDS.get(cmd_name, ()) if not _module_exists(name)]


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a finder refused it, or a broken sys.modules entry
        return False


def _missing_extra(cmd_name: str, module: str) -> CosactlError:
    return CosactlError(
        f"cosactl {cmd_name} needs the authoring tools ({module} is not installed): "
        f"pip install '{EXTRA}'",
        EXIT_MISSING_EXTRA,
    )


def _change_directory(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value:
        try:
            os.chdir(value)
        except OSError as exc:
            raise click.BadParameter(f"cannot change to {value}: {exc.strerror}") from None
    return value


@click.group(
    cls=CosactlGroup,
    lazy_commands=COMMANDS,
    lazy_help=SHORT_HELP,
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
      cosactl doctor && cosactl deploy systemd --user bridge
      cosactl watch --device counter
      cosactl update --pretend

    \b
    Shell completion (bash; zsh_source and fish_source too, see the README):
      eval "$(_COSACTL_COMPLETE=bash_source cosactl)"

    \b
    Exit codes: 0 ok, 1 check or tests failed, 2 usage, 3 project cannot load,
    4 refused (would overwrite; --force), 5 not a project, 6 an extra is missing.
    """


def main() -> None:
    """Console-script entry point."""
    cli()
