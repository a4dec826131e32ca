"""``cosactl deploy``: a systemd unit set or a Dockerfile + compose file for the project."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cosactl._errors import CosactlError

if TYPE_CHECKING:
    from cosactl._edit import Change

COLOUR = {"create": "green", "update": "cyan", "force": "yellow", "conflict": "red"}

_FORCE = click.option(
    "--force", is_flag=True, help="Overwrite files that differ from what deploy writes."
)
_PRETEND = click.option(
    "--pretend", is_flag=True, help="Show what would be created and changed; write nothing."
)


@click.group()
def deploy() -> None:
    """Write the files that run the project as a service: systemd units or a Docker image.

    Secrets stay in the project's .env: the service reads it when it starts, and it never
    goes into a unit file or an image. A file that exists and differs is refused with a diff
    unless --force; --pretend writes nothing. Both use `cosactl health` as health check.

    \b
    Examples:
      cosactl deploy systemd --user bridge
      cosactl deploy docker --pretend
    """


@deploy.command()
@click.option(
    "--user",
    metavar="NAME",
    help="The user the service runs as (default: the owner of the project directory).",
)
@click.option(
    "--python",
    "python",
    type=click.Path(dir_okay=False),
    help="The Python with cosalette installed (default: the project's .venv/bin/python if "
    "there is one, else the Python running cosactl).",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False),
    default="deploy/systemd",
    show_default=True,
    help="Where to write the unit files (relative to the project).",
)
@_FORCE
@_PRETEND
def systemd(user: str | None, python: str | None, output: str, force: bool, pretend: bool) -> None:
    """Write <app>.service, <app>-health.service and <app>-health.timer.

    The service runs `python -m cosactl run` in the project directory as --user, reads
    secrets from the project's .env, restarts after a failure and has time to stop cleanly.
    The timer runs `cosactl health` every minute while the service runs, and restarts the
    service when the check fails.
    """
    from cosactl._deploy import apply_changes, project_facts
    from cosactl._deploy.systemd import plan_systemd
    from cosactl._edit import GenerateError
    from cosactl._project import project_root

    root = project_root()
    try:
        facts = project_facts(root)
        interpreter = _python(facts.root, python)
        account = user or _owner(facts.root)
        plan = plan_systemd(facts, user=account, python=interpreter, output=Path(output))
        apply_changes(facts.root, plan.changes, force=force, pretend=pretend)
    except GenerateError as exc:
        raise CosactlError(str(exc), exc.exit_code) from None
    if not os.access(interpreter, os.X_OK):
        _warn(f"{interpreter} is not an executable file here: pass --python")
    if account == "root":
        _warn("the service runs as root: pass --user NAME to run it as an ordinary user")
    _report(plan.changes, pretend)
    units = " ".join(shlex.quote(str(u)) for u in plan.units)
    names = " ".join(u.name for u in plan.units if not u.name.endswith("-health.service"))
    # the folders the unit lets it write must exist when it starts (ReadWritePaths=)
    missing = [d for d in plan.writable if not d.is_dir()]
    owner = shlex.quote(account)
    steps = [f"sudo install -d -o {owner} {shlex.quote(str(d))}" for d in missing]
    steps += [
        f"sudo cp {units} /etc/systemd/system/",
        "sudo systemctl daemon-reload",
        f"sudo systemctl enable --now {names}",
        f"journalctl -u {facts.app}.service -f",
    ]
    _next(steps)


@deploy.command()
@click.option(
    "--python-version",
    metavar="3.X",
    help="The Python of the image (python:3.X-slim; default: the Python running cosactl).",
)
@_FORCE
@_PRETEND
def docker(python_version: str | None, force: bool, pretend: bool) -> None:
    """Write Dockerfile and compose.yaml, and add .env and caches to .dockerignore.

    The image installs the dependencies of pyproject.toml, runs `cosactl run` as a non-root
    user and checks itself with `cosactl health`. compose.yaml passes .env at run time, keeps
    the store in a volume and restarts the container unless you stopped it.
    """
    from cosactl._deploy import apply_changes, project_facts
    from cosactl._deploy.docker import default_python_version, plan_docker
    from cosactl._edit import GenerateError
    from cosactl._project import project_root

    root = project_root()
    try:
        facts = project_facts(root)
        plan = plan_docker(facts, python_version=python_version or default_python_version())
        apply_changes(facts.root, plan.changes, force=force, pretend=pretend)
    except GenerateError as exc:
        raise CosactlError(str(exc), exc.exit_code) from None
    if facts.log_file is not None:
        _warn(
            "[logging] file is set: in the container it must be in a writable directory "
            f"({plan.state_dir or 'a volume'}); `docker compose logs` shows the log anyway"
        )
    _report(plan.changes, pretend)
    steps = [] if (facts.root / ".env").exists() else ["cp .env.example .env   # fill it in"]
    steps += [
        "docker compose up -d --build",
        "docker compose ps         # (healthy) once `cosactl health` passes",
        "docker compose logs -f",
    ]
    if plan.local_broker:
        steps.append(
            f"# the broker: {facts.env_prefix}MQTT__HOST in .env (default: the Docker host)"
        )
    _next(steps)


def _python(root: Path, given: str | None) -> Path:
    """The interpreter for ExecStart=: absolute, symlinks kept (a venv's python is one)."""
    if given:
        return Path(os.path.abspath(given))
    venv = root / ".venv" / "bin" / "python"
    if venv.exists():
        return venv
    return Path(os.path.abspath(sys.executable))


def _owner(root: Path) -> str:
    import pwd

    uid = root.stat().st_uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _warn(message: str) -> None:
    click.echo(click.style("Warning: ", fg="yellow") + message, err=True)


def _report(changes: Sequence[Change], pretend: bool) -> None:
    for change in changes:
        action = "force" if change.action == "conflict" else change.action
        label = click.style(f"{action:<9}", fg=COLOUR.get(action, "blue"), bold=action in COLOUR)
        detail = f" {change.detail}" if change.detail else ""
        click.echo(f"{label} {change.path}{detail}")
    if pretend:
        click.echo("--pretend: nothing was written")


def _next(steps: Sequence[str]) -> None:
    click.echo("\nNext:")
    for step in steps:
        click.echo(f"  {step}")
