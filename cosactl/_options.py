"""Options several commands share, declared once so they read and behave the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])

__all__ = ["settings_sources"]


def settings_sources(func: F) -> F:
    """``--settings FILE`` and ``--env-file FILE``: where the project's settings come from,
    as in ``cosactl run`` (passed on as ``settings_file`` and ``env_file``)."""
    func = click.option(
        "--env-file", type=click.Path(dir_okay=False), help="Read secrets from this .env file."
    )(func)
    return click.option(
        "--settings",
        "settings_file",
        type=click.Path(dir_okay=False),
        help="Read settings from this TOML file instead of the project's settings.toml.",
    )(func)
