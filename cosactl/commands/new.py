"""``cosactl new``: create a project from the cookiecutter template."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cosactl._errors import CosactlError

# What an interactive `cosactl new` asks (the rest comes from --extra-context or defaults).
PROMPTS = {
    "description": click.STRING,
    "mqtt_host": click.STRING,
    "mqtt_port": click.IntRange(1, 65535),
}


@click.command()
@click.argument("name")
@click.option(
    "--directory",
    "-d",
    metavar="DIR",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Create the project folder NAME inside DIR.",
)
@click.option(
    "--no-input",
    is_flag=True,
    help="Ask nothing; use the template's defaults and --extra-context (implied off a terminal).",
)
@click.option(
    "--extra-context",
    "-x",
    "extra_context",
    metavar="KEY=VALUE",
    multiple=True,
    help="Set an answer: project_name, description, version, mqtt_host, mqtt_port (repeatable).",
)
def new(name: str, directory: str, no_input: bool, extra_context: tuple[str, ...]) -> None:
    """Create a new project NAME from the template.

    NAME becomes the folder, the app name (the MQTT topic prefix) and the environment prefix
    (NAME_MQTT__HOST=...): lowercase letters, digits and underscores, starting with a letter.
    The folder gets settings.toml, .env.example, pyproject.toml, devices/, adapters/, routers/,
    tests/, README.md, .gitignore and .cosactl.json (the template version, these answers and the
    pristine rendered files: the base `cosactl update` merges newer templates from).

    \b
    Example:
      cosactl new gas2mqtt -x description="Gas meter to MQTT" -x mqtt_host=broker.local
      cd gas2mqtt && cosactl test
    """
    from cosactl._edit import GenerateError
    from cosactl.new_project import (
        create_project,
        parse_pairs,
        project_target,
        template_defaults,
    )

    try:
        project_target(name, directory)
        answers = parse_pairs(extra_context)
        if not no_input and sys.stdin.isatty():
            defaults = template_defaults()
            for key, kind in PROMPTS.items():
                if key not in answers:
                    answers[key] = str(click.prompt(key, default=defaults[key], type=kind))
        target = create_project(name, directory, no_input=True, extra_context=answers)
    except GenerateError as exc:
        raise CosactlError(str(exc), exc.exit_code) from None
    for path in sorted(p for p in target.rglob("*") if p.is_file()):
        click.echo(f"{click.style('create', fg='green', bold=True)}  {_shown(path, directory)}")
    where = _shown(target, directory)
    click.echo(f"\nNext: cd {where} && cosactl add telemetry counter && cosactl test")


def _shown(path: Path, directory: str) -> str:
    """*path* as the user would type it from here."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path) if directory != "." else path.name
