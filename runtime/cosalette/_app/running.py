"""Running an :class:`App` until shutdown: describe it under its settings, build the
``Runtime``, prepare, serve, tear down. ``App._run_async`` is this function; the testing kit and
the CLIs call it as ``run_until_shutdown(app, ...)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from cosalette._clock import ClockPort
from cosalette._di.plan import InjectionError
from cosalette._mqtt.port import MqttPort
from cosalette._settings import Settings

if TYPE_CHECKING:
    from cosalette._app.app import App
    from cosalette._wiring.runtime import Runtime

__all__ = ["run_until_shutdown"]


async def run_until_shutdown(
    app: App,
    *,
    mqtt: MqttPort | None = None,
    settings: Settings | None = None,
    shutdown_event: asyncio.Event | None = None,
    clock: ClockPort | None = None,
    dry_run: bool | None = None,
    run_periodic: bool = True,
    adapter_overrides: Mapping[Any, object] | None = None,
    on_prepared: Callable[[Runtime], None] | None = None,
    state_overrides: Mapping[type, object] | None = None,
) -> None:
    """Run until *shutdown_event* is set (SIGINT/SIGTERM set it when none is given).

    *adapter_overrides* (*state_overrides*) are instances used instead of building those
    ports' adapters (calling those state types' factories);
    *on_prepared* sees the runtime once it is wired, before it connects.
    """
    from cosalette._errors import StartupError
    from cosalette._settings import load_settings
    from cosalette._wiring.runtime import Runtime, install_signal_handlers

    if settings is None:
        settings = load_settings(app.settings_class)
    try:
        description = app.describe(settings)
    except (InjectionError, TypeError, ValueError, LookupError) as exc:
        raise StartupError(f"{app.name}: {exc}") from exc
    remove_signals: Callable[[], None] | None = None
    if shutdown_event is None:
        shutdown_event = asyncio.Event()
        remove_signals = install_signal_handlers(shutdown_event)
    runtime = Runtime(
        description,
        settings=settings,
        mqtt=mqtt,
        shutdown_event=shutdown_event,
        clock=clock,
        dry_run=description.dry_run if dry_run is None else dry_run,
        run_periodic=run_periodic,
        adapter_overrides=adapter_overrides,
        state_overrides=state_overrides,
    )
    try:
        await runtime.prepare()
        app._record_run(runtime.registrations, runtime.store)  # noqa: SLF001 - _app's own
        if on_prepared is not None:
            on_prepared(runtime)
        await runtime.serve()
    finally:
        try:
            await runtime.teardown()
        finally:
            if remove_signals is not None:
                remove_signals()
