"""The command line of a cosalette app (``app.cli()``) and the foreground runner."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import click

    from cosalette._app.app import App
    from cosalette._settings import Settings
    from cosalette._shutdown import ProcessShutdown
    from cosalette._wiring.runtime import Runtime

EXIT_CONFIG = 2
EXIT_WIRING = 3


def run_app(
    app: App,
    *,
    settings: Settings | None,
    dry_run: bool,
    banner: str | None = None,
    on_prepared: Callable[[Runtime], None] | None = None,
) -> None:
    """Load settings, configure logging, run until a signal; errors exit non-zero, no traceback.

    *banner* is logged once logging is configured; *on_prepared* sees the wired runtime before
    it connects.
    """
    from cosalette._errors import StartupError
    from cosalette._logging import configure_logging, register_secret
    from cosalette._settings import SettingsError, load_settings
    from cosalette._shutdown import ProcessShutdown
    from cosalette._stop_timing import CANCEL_GRACE, TEARDOWN_GRACE, TEARDOWN_MARGIN

    try:
        resolved = settings if settings is not None else load_settings(app.settings_class)
    except SettingsError as exc:
        print(f"{app.name}: configuration error:\n{exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None
    register_secret(resolved.mqtt.password)
    configure_logging(resolved.logging, service=app.name, version=app.version)
    if banner:
        logging.getLogger("cosalette").info("%s", banner)
    try:
        with ProcessShutdown(
            grace=TEARDOWN_GRACE, margin=TEARDOWN_MARGIN, probe=CANCEL_GRACE
        ) as guard:
            asyncio.run(_serve(app, resolved, dry_run, on_prepared, guard))
    except StartupError as exc:
        message = str(exc).removeprefix(f"{app.name}: ")  # the runtime names the app too
        print(f"{app.name}: cannot start: {message}", file=sys.stderr)
        raise SystemExit(EXIT_WIRING) from None
    except KeyboardInterrupt:
        pass


async def _serve(
    app: App,
    settings: Settings,
    dry_run: bool,
    on_prepared: Callable[[Runtime], None] | None,
    guard: ProcessShutdown,
) -> None:
    """Run until the first signal; end the process at once if teardown abandoned anything."""
    from cosalette._app.app import run_until_shutdown
    from cosalette._shutdown import TrackingExecutor

    loop = asyncio.get_running_loop()
    executor = TrackingExecutor()  # the default one would wait for an abandoned thread at exit
    loop.set_default_executor(executor)
    guard.attach(loop)
    runs: list[Runtime] = []

    def prepared(runtime: Runtime) -> None:
        runs.append(runtime)
        guard.watch(runtime)
        executor.caller = runtime.handlers.caller
        if on_prepared is not None:
            on_prepared(runtime)

    await run_until_shutdown(
        app,
        settings=settings,
        dry_run=dry_run,
        on_prepared=prepared,
        shutdown_event=guard.event,
    )
    lines = [
        f"{who} left {name} running in a worker thread; abandoned"
        if who
        else f"{name} is still running in a worker thread; abandoned"
        for name, who in executor.unfinished()
    ]
    if lines or (runs and runs[0].handlers.abandoned):
        executor.shutdown(wait=False, cancel_futures=True)
        guard.exit_now(lines, connected=False)


def _show_devices(app: App, settings: Settings | None) -> str:
    """The app's manifest as a table: the same description ``cosactl manifest`` prints."""
    from cosalette._contract.manifest import build_manifest, format_manifest_table

    return format_manifest_table(build_manifest(app, settings))


def build_cli(app: App) -> click.Command:
    """A click command that runs *app* with the usual options."""
    import click

    @click.command(name=app.name, help=f"{app.description}\n\nRuns the {app.name} bridge daemon.")
    @click.version_option(app.version, "--version", prog_name=app.name)
    @click.option("--dry-run", is_flag=True, help="Use the dry-run (fake) adapters.")
    @click.option(
        "--log-level",
        type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], case_sensitive=False),
        help="Override the log level from the settings.",
    )
    @click.option("--log-format", type=click.Choice(["json", "text"]), help="Log line format.")
    @click.option(
        "--env-file", type=click.Path(dir_okay=False), help="Read settings from this .env file."
    )
    @click.option(
        "--settings-file",
        type=click.Path(dir_okay=False),
        help="Read settings from this TOML file.",
    )
    @click.option("--show-devices", is_flag=True, help="List the registered devices and exit.")
    def command(
        dry_run: bool,
        log_level: str | None,
        log_format: str | None,
        env_file: str | None,
        settings_file: str | None,
        show_devices: bool,
    ) -> None:
        from cosalette._settings import SettingsError, load_settings

        try:
            settings = load_settings(
                app.settings_class, settings_file=settings_file, env_file=env_file
            )
        except SettingsError as exc:
            if show_devices:  # the declared devices, with deferred values unresolved
                click.echo(_show_devices(app, None))
                return
            raise click.ClickException(f"configuration error:\n{exc}") from None
        if show_devices:
            click.echo(_show_devices(app, settings))
            return
        updates: dict[str, Any] = {}
        if log_level:
            updates["level"] = log_level.upper()
        if log_format:
            updates["format"] = log_format
        if updates:
            settings = settings.model_copy(
                update={"logging": settings.logging.model_copy(update=updates)}
            )
        run_app(app, settings=settings, dry_run=dry_run or app.dry_run)

    return command
