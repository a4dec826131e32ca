"""``python -m cosalette health``: exit 1 when a running app's health file says it is unhealthy.

Cheap on purpose (a container runs it every 30 s): click and the standard library only, no
pydantic, no aiomqtt, no app import. ``cosactl health`` reads the limits from the project's
``[health]`` settings and reports through :func:`report` too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from cosalette._health_check import Limits, check_file, default_health_path

__all__ = ["health", "limit_options", "report"]

EXIT_UNHEALTHY = 1
F = TypeVar("F", bound=Callable[..., object])


def limit_options(func: F) -> F:
    """``--max-age``, ``--broker-limit`` and ``--json``, shared with ``cosactl health``."""
    func = click.option(
        "--json", "as_json", is_flag=True, help="Print the verdict and the file as JSON."
    )(func)
    func = click.option(
        "--broker-limit",
        type=click.FloatRange(min=0),
        metavar="SECONDS",
        help="Unhealthy when the broker has been unreachable longer than this "
        "[default: the app's health.broker_unreachable_limit].",
    )(func)
    return click.option(
        "--max-age",
        type=click.FloatRange(min=0, min_open=True),
        metavar="SECONDS",
        help="Unhealthy when the file is older than this [default: the app's health.stale_after].",
    )(func)


def report(path: Path, limits: Limits, *, as_json: bool) -> None:
    """Check *path* now, print one line (``healthy: ...``/``unhealthy: ...``, or JSON) on
    stdout, and exit 1 when unhealthy."""
    verdict = check_file(path, time.time(), limits)
    click.echo(verdict.to_json(path) if as_json else verdict.summary)
    if not verdict.ok:
        click.get_current_context().exit(EXIT_UNHEALTHY)


@click.command(
    short_help="Exit 1 when a running app's health file says it is unhealthy.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The health file to check ([health] file of the app).",
)
@click.option(
    "--name",
    "app_name",
    metavar="APP",
    help="Check the default health file of the app named APP: health.json next to its default "
    "store ($<APP>_STORE_PATH's folder, else $XDG_STATE_HOME/APP/, else ~/.local/state/APP/).",
)
@limit_options
def health(
    file: Path | None,
    app_name: str | None,
    max_age: float | None,
    broker_limit: float | None,
    as_json: bool,
) -> None:
    """Check the health file a running cosalette app keeps fresh ([health] settings).

    Prints one line, 'healthy: ...' or 'unhealthy: <reasons>': the app stopped, the file is
    missing, corrupt or stale (the process hung or is gone), the broker has been unreachable
    too long, or a device is in error or unavailable.

    \b
    Examples:
      python -m cosalette health --file /data/health.json
      python -m cosalette health --name gas2mqtt --max-age 60
      HEALTHCHECK CMD python -m cosalette health --file /data/health.json

    \b
    Exit codes: 0 healthy, 1 unhealthy, 2 usage error.
    """
    if (file is None) == (app_name is None):
        raise click.UsageError("give the health file: --file PATH, or --name APP")
    if file is None:
        assert app_name is not None
        try:
            file = default_health_path(app_name)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--name") from None
    report(file, Limits(max_age=max_age, broker_limit=broker_limit), as_json=as_json)
