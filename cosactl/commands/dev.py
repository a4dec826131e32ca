"""``cosactl dev``: run the project against a local broker and reload it on every save."""

from __future__ import annotations

import click

from cosactl._options import settings_sources


@click.command()
@click.option("--real", is_flag=True, help="Use the real adapters (default: the fakes).")
@click.option(
    "--broker",
    "broker_url",
    metavar="URL",
    help="Use this broker (mqtt://HOST:PORT) instead of finding or starting one.",
)
@click.option("--no-live", is_flag=True, help="Print plain log lines instead of the live table.")
@click.option(
    "--force-polling",
    is_flag=True,
    help="Poll for changes (network drives, containers, WSL mounts).",
)
@settings_sources
def dev(
    real: bool,
    broker_url: str | None,
    no_live: bool,
    force_polling: bool,
    settings_file: str | None,
    env_file: str | None,
) -> None:
    """Run the project and restart it on every save, with a broker and a live view.

    Watches *.py, settings.toml and .env. After a save the new version is imported and wired
    while the old one keeps running; a mistake leaves the old one running and prints the error
    with file and line. With nothing listening at the [mqtt] address, a broker is started on
    127.0.0.1 for the session: mosquitto when installed, else a built-in Python broker
    (COSACTL_DEV_BROKER=auto|mosquitto|python chooses). Device state is kept in
    .cosactl/dev/, never in the [store] of settings.toml. Ctrl-C stops everything.

    \b
    Examples:
      cosactl dev                                # fake adapters, live table
      cosactl dev --real                         # the hardware adapters
      cosactl dev --broker mqtt://pi.local:1883  # an existing broker
      cosactl dev --no-live | tee dev.log        # plain log lines
    """
    import asyncio
    import os
    import sys
    from pathlib import Path

    from cosactl._errors import EXIT_PROJECT, CosactlError
    from cosactl._project import project_root

    if not hasattr(os, "fork"):
        raise CosactlError("cosactl dev needs fork(): use Linux, macOS or WSL", EXIT_PROJECT)
    from cosactl.devserver.broker import BrokerError, open_broker
    from cosactl.devserver.config import DevOptions, read_config
    from cosactl.devserver.live import make_view
    from cosactl.devserver.supervisor import Supervisor
    from cosactl.devserver.worker import Zygote, warm_up

    root = project_root()
    options = DevOptions(
        root=root,
        real=real,
        broker_url=broker_url,
        live=not no_live,
        force_polling=force_polling,
        settings_file=Path(settings_file).resolve() if settings_file else None,
        env_file=Path(env_file).resolve() if env_file else None,
    )
    config = read_config(options)
    warm_up()
    zygote = Zygote.start()  # before any thread or event loop exists
    broker = None
    try:
        try:
            broker = open_broker(config.host, config.port, broker_url)
        except BrokerError as exc:
            raise CosactlError(str(exc), EXIT_PROJECT) from None
        adapters = "real adapters" if real else "fake adapters"
        header = f"cosactl dev · {config.app} · {broker.url} ({broker.kind}) · {adapters}"
        view = make_view(config.prefix, header, live=options.live)
        supervisor = Supervisor(options, config, broker, zygote, view)
        try:
            asyncio.run(supervisor.run())
        except OSError as exc:
            raise CosactlError(f"cosactl dev: {exc}", EXIT_PROJECT) from None
    finally:
        zygote.close()
        if broker is not None:
            broker.stop()
        sys.stderr.flush()
