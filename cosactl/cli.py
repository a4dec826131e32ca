"""The ``cosactl`` command group; each sub-command lives in its own module."""

from __future__ import annotations

import click

from cosactl import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="cosactl")
def cli() -> None:
    """Create, run and test cosalette IoT-to-MQTT bridge projects.

    \b
    Example:
      cosactl --version
    """


def main() -> None:
    """Console-script entry point."""
    cli()
