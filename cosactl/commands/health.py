"""``cosactl health``: exit 1 when the project's running daemon is unhealthy (its health file).

It reads the project's ``[app]`` and ``[health]`` settings (``settings.toml``, ``.env`` and the
environment, like ``cosactl run``) but does not import the project's code: a container runs it
every 30 s.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from cosactl._errors import EXIT_PROJECT, CosactlError
from cosactl._options import settings_sources
from cosalette._cli.health_command import limit_options

if TYPE_CHECKING:
    from cosalette._settings import HealthSettings


@click.command()
@settings_sources
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Check this health file [default: [health] file, else health.json next to the "
    "project's store file ([store] path; state/health.json in a new project)].",
)
@limit_options
def health(
    settings_file: str | None,
    env_file: str | None,
    file: Path | None,
    max_age: float | None,
    broker_limit: float | None,
    as_json: bool,
) -> None:
    """Check the health file the running project keeps fresh ([health] in settings.toml).

    Prints one line, 'healthy: ...' or 'unhealthy: <reasons>': the daemon stopped, the file
    is missing, corrupt or stale (the process hung or is gone), the broker has been unreachable
    longer than [health] broker_unreachable_limit, or a device is in error or unavailable.

    \b
    Examples:
      cosactl health
      cosactl -C /opt/gas2mqtt health --max-age 60
      HEALTHCHECK CMD cosactl health

    \b
    Exit codes: 0 healthy, 1 unhealthy, 2 usage, 3 the settings cannot be read,
    5 not a project.
    """
    from cosalette._cli.health_command import report
    from cosalette._health_check import Limits, default_health_path

    options, app_name, store_file = _health_settings(settings_file, env_file)
    if file is None:
        if options.file:
            file = Path(options.file).expanduser()
        else:
            try:
                file = default_health_path(app_name, store_file)
            except ValueError as exc:
                raise CosactlError(f"{exc} (or set [health] file)", EXIT_PROJECT) from None
    limits = Limits(
        max_age=options.max_age if max_age is None else max_age,
        broker_limit=options.broker_unreachable_limit if broker_limit is None else broker_limit,
    )
    report(file, limits, as_json=as_json)


def _health_settings(
    settings_file: str | None, env_file: str | None
) -> tuple[HealthSettings, str, Path | None]:
    """The project's ``[health]`` settings, app name and store file (``[store]``; the health
    file's default folder), without importing the project's code."""
    from cosactl._project import project_root
    from cosalette._project.errors import ProjectError
    from cosalette._project.settings_model import (
        compose_settings_class,
        load_project_settings,
        read_app_section,
        read_toml,
    )
    from cosalette._project.store import read_store_section

    root = project_root()
    path = Path(settings_file).resolve() if settings_file is not None else root / "settings.toml"
    try:
        if not path.is_file():
            raise ProjectError("settings file not found", file=path)
        if env_file is not None and not Path(env_file).is_file():
            raise ProjectError("env file not found", file=env_file)
        data, text = read_toml(path)
        name = read_app_section(data, text, path).name
        section = read_store_section(data, text, path)
        settings_class = compose_settings_class(name, root, path, {})
        settings = load_project_settings(settings_class, settings_path=path, env_file=env_file)
    except ProjectError as exc:
        raise CosactlError(str(exc), EXIT_PROJECT) from None
    return settings.health, name, section.file(root, name) if section is not None else None
