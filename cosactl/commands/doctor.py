"""``cosactl doctor``: check a deployment before (or while) it runs."""

from __future__ import annotations

import click

from cosactl._errors import EXIT_CHECK_FAILED, EXIT_OK
from cosactl._options import settings_sources


@click.command()
@settings_sources
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds to wait for each network step.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
def doctor(settings_file: str | None, env_file: str | None, timeout: float, as_json: bool) -> None:
    """Check a deployment: settings, real adapters, store path, clock, broker, Home Assistant.

    One line per check (✔ passed, ✘ failed, \u2013 skipped, with why); a failed check says
    what to change. The broker is checked step by step for each node: TCP, TLS handshake,
    login, and a publish/subscribe round trip (not retained) on <topic root>/_doctor/<random>.

    \b
    Examples:
      cosactl doctor
      cosactl doctor --env-file /etc/gas2mqtt/.env --timeout 2
      cosactl -C ~/gas2mqtt doctor --json

    Exit code 0 when every check passed (or does not apply), 1 otherwise.
    """
    from cosactl._doctor import run_checks
    from cosactl._project import project_root

    report = run_checks(
        project_root(), settings_file=settings_file, env_file=env_file, timeout=timeout
    )
    click.echo(report.json() if as_json else report.text())
    raise SystemExit(EXIT_OK if report.ok else EXIT_CHECK_FAILED)
