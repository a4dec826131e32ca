"""``cosactl run``: the discovered project as a production daemon."""

from __future__ import annotations

import click

from cosactl._options import settings_sources


@click.command()
@click.option(
    "--dry-run",
    is_flag=True,
    help="Use the fake adapters instead of the hardware; device state is kept in memory only.",
)
@settings_sources
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], case_sensitive=False),
    help="Override [logging] level.",
)
@click.option(
    "--log-format", type=click.Choice(["json", "text"]), help="Override [logging] format."
)
def run(
    dry_run: bool,
    settings_file: str | None,
    env_file: str | None,
    log_level: str | None,
    log_format: str | None,
) -> None:
    """Run the project until Ctrl-C or SIGTERM.

    \b
    Examples:
      cosactl run                 # real adapters, settings.toml + .env + environment
      cosactl run --dry-run       # fake adapters, a real broker, state in memory
      cosactl -C ~/gas2mqtt run --log-level DEBUG
    """
    from cosactl._project import load
    from cosactl._startup import broker_hint, hint_while_unreachable, startup_line
    from cosalette import MemoryStore
    from cosalette._app.cli import run_app

    # check=True: a handler nothing can serve is named by its file:line before anything starts;
    # --dry-run keeps state in memory: fake adapters must never count into production state
    store = {"store": MemoryStore()} if dry_run else {}
    project = load(
        dry_run=dry_run, settings_file=settings_file, env_file=env_file, check=True, **store
    )
    settings = project.settings
    updates: dict[str, str] = {}
    if log_level:
        updates["level"] = log_level.upper()
    if log_format:
        updates["format"] = log_format
    if updates:
        logging_settings = settings.logging.model_copy(update=updates)
        settings = settings.model_copy(update={"logging": logging_settings})
    run_app(
        project.app,
        settings=settings,
        dry_run=dry_run,
        banner=startup_line(project, settings, dry_run=dry_run),
        on_prepared=hint_while_unreachable(broker_hint(project, settings)),
    )
