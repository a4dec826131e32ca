"""The run loop: one run of an app from start to teardown, the spec's phases in order.

declare → resolve → wire → run: a :class:`Runtime` takes an :class:`AppDescription`, resolves
its registrations against the settings, builds the adapters and enters the lifespan, binds every
handler, then connects, starts one supervised task per device and waits for shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Mapping
from typing import Any

from cosalette._app.description import AppDescription
from cosalette._app.registration import Registrations, ResolvedRegistrations
from cosalette._clock import ClockPort, SystemClock
from cosalette._context import AppContext
from cosalette._di.plan import InjectionError
from cosalette._errors import ErrorPublisher, StartupError
from cosalette._health import HealthCheckRunner, HealthReporter, build_will_config
from cosalette._mqtt.port import MqttLifecycle, MqttMessageHandler, MqttPort
from cosalette._runners.payloads import FRAMEWORK_ERROR_TYPES, StoreCorruptError
from cosalette._runners.periodic import PeriodicRunner
from cosalette._runners.stream import StreamRunner
from cosalette._runners.supervisor import TaskSupervisor
from cosalette._settings import Settings
from cosalette._shutdown import SleepRegistry, install_signal_handlers
from cosalette._store_io import write_behind
from cosalette._stores import Store
from cosalette._topics import status_topic, topic_root
from cosalette._wiring.adapters import RunningAdapters
from cosalette._wiring.announce import Announcer, announcer_for
from cosalette._wiring.builder import Wiring, WiringBuilder
from cosalette._wiring.cleanup import cleanup_enabled, clear_stale_entities, warn_if_ephemeral
from cosalette._wiring.health_file import health_file_for
from cosalette._wiring.injectables import Injectables
from cosalette._wiring.reactions import make_state
from cosalette._wiring.resolve import resolve_registrations
from cosalette._wiring.routing import InboundRouter
from cosalette._wiring.stores import DeviceStores, build_store
from cosalette._wiring.teardown import RunningHandlers

__all__ = ["Runtime", "default_mqtt", "install_signal_handlers"]

logger = logging.getLogger("cosalette")


def default_mqtt(app_name: str, settings: Settings, prefix: str) -> MqttPort:
    """The real client with the app's last will and a client id unique to this process
    (``<app>-<instance or hostname>-<random hex>`` unless ``mqtt.client_id`` is set)."""
    from cosalette._mqtt.client import MqttClient

    return MqttClient(settings.mqtt, will=build_will_config(prefix), name=app_name)


class Runtime:
    """One run of an app: prepare (no network), then serve until shutdown, then tear down."""

    def __init__(
        self,
        app: AppDescription,
        *,
        settings: Settings,
        mqtt: MqttPort | None,
        shutdown_event: asyncio.Event,
        clock: ClockPort | None,
        dry_run: bool,
        run_periodic: bool = True,
        adapter_overrides: Mapping[Any, object] | None = None,
        state_overrides: Mapping[type, object] | None = None,
    ) -> None:
        self.app = app
        self._state_overrides = dict(state_overrides or {})
        self._state_stack = contextlib.AsyncExitStack()  # torn down after the lifespan
        self.settings = settings
        self.prefix = topic_root(app.name, settings)
        self.mqtt: MqttPort = (
            mqtt if mqtt is not None else default_mqtt(app.name, settings, self.prefix)
        )
        self.shutdown_event = shutdown_event
        self.clock: ClockPort = clock if clock is not None else SystemClock()
        self.dry_run = dry_run
        self.run_periodic = run_periodic
        self.sleeps = SleepRegistry(shutdown_event)
        self.errors = ErrorPublisher(
            self.mqtt, self.prefix, {**FRAMEWORK_ERROR_TYPES, **app.error_type_map}
        )
        self.health = HealthReporter(self.mqtt, self.prefix, app.version, self.clock)
        self.health_file = health_file_for(app, settings, self.mqtt, self.health, mqtt is None)
        self.registrations: ResolvedRegistrations = Registrations()
        self.store: Store | None = None
        self.injectables = Injectables(
            settings=settings,
            settings_class=app.settings_class,
            clock=self.clock,
            shutdown_event=shutdown_event,
            adapters={},
            providers=app.providers,
        )
        self._stack = contextlib.AsyncExitStack()
        self.adapters = RunningAdapters(
            app.adapters,
            self.injectables,
            self._stack,
            dry_run=dry_run,
            overrides=adapter_overrides,
        )
        self.wiring: Wiring | None = None
        self.builder: WiringBuilder | None = None
        self.inbound: InboundRouter | None = None
        self.handlers = RunningHandlers()
        self.teardown_step = "not started"
        self.health_checks: HealthCheckRunner | None = None
        self._served = False
        self._cleanup_done = False
        self.announcer: Announcer | None = None

    # --- phase 1 and 2: resolve, adapters, lifespan, wiring ------------------------------

    async def prepare(self) -> None:
        """Resolve registrations, build and enter adapters, enter the lifespan, bind handlers.

        Problems found here raise :class:`StartupError` before anything is published.
        """
        try:
            await self._prepare()
        except StartupError:
            raise
        except (InjectionError, ImportError, LookupError, TypeError, ValueError) as exc:
            raise StartupError(f"{self.app.name}: {exc}") from exc

    async def _prepare(self) -> None:
        check_mqtt = getattr(self.mqtt, "check_config", None)
        if callable(check_mqtt):
            check_mqtt()  # unreadable TLS files: a StartupError naming the setting
        self.registrations = resolve_registrations(self.app.registrations, self.settings)
        self.injectables.state = await make_state(
            self.app.state_factories, self.settings, self._state_stack, self._state_overrides
        )
        await self.adapters.start()
        self._open_stores()
        context = AppContext(
            settings=self.settings, adapters=self.injectables.adapters, state=self.injectables.state
        )
        await self._stack.enter_async_context(self.app.lifespan(context))
        self.builder = WiringBuilder(
            injectables=self.injectables,
            mqtt=self.mqtt,
            topic_prefix=self.prefix,
            sleeps=self.sleeps,
            errors=self.errors,
            health=self.health,
            reactors=self.app.reactors,
        )
        self.wiring = self.builder.build(self.registrations, run_periodic=self.run_periodic)
        self.handlers.track(self.wiring, self.registrations)
        if self.injectables.stores is not None:
            self.injectables.stores.save_changed()  # what init= factories changed
        self.inbound = InboundRouter(self.wiring, self.settings.mqtt.max_payload_bytes)
        self.announcer = announcer_for(
            self.app, self.registrations, self.settings, self.mqtt, prefix=self.prefix
        )

    def _open_stores(self) -> None:
        self.store = build_store(self.app.store, self.injectables.for_adapters())
        if self.store is None:
            logger.info("%s: persistence is off (store=None)", self.app.name)
            return
        logger.info("%s: device state is kept in %s", self.app.name, self.store)
        self.injectables.stores = DeviceStores(self.store, wrap=write_behind)

    def periodic_runner(self, name: str) -> PeriodicRunner:
        """A runner for periodic task *name* of this prepared run (``tick_periodic``)."""
        assert self.builder is not None, "prepare() must run first"
        for reg in self.registrations.periodic:
            if reg.name == name:
                return self.builder.periodic_runner(reg)
        known = ", ".join(r.name for r in self.registrations.periodic) or "none"
        raise LookupError(f"No periodic task named '{name}' (registered: {known})")

    def stream_runner(self, name: str) -> StreamRunner:
        """The wired runner of stream *name* of this prepared run (``inject_stream``)."""
        assert self.wiring is not None, "prepare() must run first"
        for runner, _ in self.wiring.streams:
            if runner.name == name:
                return runner
        known = ", ".join(r.name for r, _ in self.wiring.streams) or "none"
        raise LookupError(f"No stream named '{name}' (registered: {known})")

    async def release(self) -> None:
        """Save what changed, then exit the lifespan, the adapters and the shared state."""
        stores = self.injectables.stores
        if stores is not None:
            stores.save_changed()
            await stores.aclose()
        try:
            await self._stack.aclose()
        finally:
            await self._state_stack.aclose()

    # --- phase 3: run -----------------------------------------------------------------

    async def serve(self) -> None:
        """Connect, announce, start every task, and wait for shutdown."""
        assert self.wiring is not None and self.inbound is not None, "prepare() must run first"
        self._served = True
        self.sleeps.start()
        announcer = self.announcer
        assert announcer is not None
        if isinstance(self.mqtt, MqttMessageHandler):
            self.mqtt.on_message(self.inbound.deliver)
            if announcer.topics():
                self.mqtt.on_message(announcer.deliver)
        on_connect = getattr(self.mqtt, "on_connect", None)
        if callable(on_connect):
            # Callbacks run in order, ahead of the backlog: gone entities are cleared on the
            # first connect, then the registry and discovery configs, then availability and
            # (from the second connect on) the heartbeat.
            on_connect(self._clear_stale_once)
            on_connect(announcer.on_connect)
            on_connect(self.health.republish_availability)
            on_connect(self.health.republish_heartbeat)  # it names the broker node
        if isinstance(self.mqtt, MqttLifecycle):
            await self.mqtt.start()
        await self._report_store_problems()
        if not callable(on_connect):
            await self._clear_stale_once()
            await announcer.on_connect()
        for unit in self.wiring.units:
            await self.health.publish_device_available(unit.name, is_root=unit.is_root)
        await self.health.publish_heartbeat()
        self._start_tasks(self.wiring)
        await asyncio.sleep(0)  # let @device handlers register on_command before messages flow
        for topic in [*self.inbound.topics(), *announcer.topics()]:
            await self.mqtt.subscribe(topic)
        await self.shutdown_event.wait()

    async def _report_store_problems(self) -> None:
        """Publish, once, each store file that was kept aside as corrupt."""
        stores = self.injectables.stores
        for problem in stores.take_problems() if stores is not None else ():
            await self.errors.publish(StoreCorruptError(problem.message))

    async def _clear_stale_once(self) -> None:
        """Clear the retained topics of entities gone since the last run (first connect only)."""
        stores = self.injectables.stores
        if self._cleanup_done or stores is None:
            return
        self._cleanup_done = True
        if cleanup_enabled(self.app, self.store):
            warn_if_ephemeral(self.app)
            await clear_stale_entities(self.mqtt, stores.backend, self.prefix, self.registrations)

    def _spawn(self, coro: Awaitable[None], kind: str, name: str = "") -> None:
        self.handlers.spawn(coro, self.registrations, kind, name)

    def _start_tasks(self, wiring: Wiring) -> None:
        options = self.app.supervision
        supervisor = TaskSupervisor(
            max_restarts=options.max_restarts,
            restart_cooldown=options.restart_cooldown,
            sustained_health_reset=options.sustained_health_reset,
            clock=self.clock,
            sleep=self._sleep,
            shutdown_event=self.shutdown_event,
        )
        for unit in wiring.units:
            start = unit.start_function()
            if start is None:
                continue
            self._spawn(
                supervisor.supervise(
                    unit.name,
                    start,
                    on_crash=lambda exc, u=unit: u.reporting.error(
                        exc, what=f"{u.kind} '{u.name}'"
                    ),  # type: ignore[misc]
                    on_give_up=lambda u=unit: self.health.publish_device_unavailable(
                        u.name, is_root=u.is_root
                    ),  # type: ignore[misc]
                ),
                unit.kind,
                unit.name,
            )
        for stream, reporting in wiring.streams:
            self._spawn(
                supervisor.supervise(
                    f"stream {stream.name}",
                    stream.run,
                    on_crash=lambda exc, r=reporting, n=stream.name: r.error(
                        exc, what=f"stream '{n}'"
                    ),  # type: ignore[misc]
                    on_give_up=lambda: asyncio.sleep(0),
                ),
                "stream",
                stream.name,
            )
        for group in wiring.groups:
            self._spawn(
                supervisor.supervise(
                    f"group {group.name}",
                    group.run,
                    on_crash=lambda exc, g=group: self.errors.publish(exc),  # type: ignore[misc]
                    on_give_up=lambda: asyncio.sleep(0),
                ),
                "group",
                group.name,
            )
        for runner in wiring.periodic:
            self._spawn(runner.run(), "periodic", runner.name)
        if options.heartbeat_interval is not None:
            self._spawn(self._heartbeats(options.heartbeat_interval), "heartbeat")
        if self.health_file is not None:
            self._spawn(self.health_file.run(self._sleep, self.shutdown_event), "health-file")
        self._start_health_checks(wiring)

    async def _sleep(self, seconds: float) -> None:
        from cosalette._shutdown import interruptible_sleep

        await interruptible_sleep(self.clock, seconds, self.shutdown_event, self.sleeps)

    async def _heartbeats(self, interval: float) -> None:
        while not self.shutdown_event.is_set():
            await self._sleep(interval)
            if not self.shutdown_event.is_set():
                await self._report_store_problems()  # failed background writes, once each
                for runner, _ in self.wiring.streams if self.wiring is not None else ():
                    dropped = runner.stream.dropped if runner.stream is not None else 0
                    self.health.set_device_status(runner.name, "ok", dropped=dropped)
                await self.health.publish_heartbeat()

    def _start_health_checks(self, wiring: Wiring) -> None:
        options = self.app.supervision
        interval = options.health_check_interval
        runner = HealthCheckRunner(
            self.injectables.adapters,
            wiring.devices_by_adapter(),
            self.health,
            self.clock,
            restart_after_failures=options.restart_after_failures,
            max_restarts=options.max_restarts,
            sustained_health_reset=options.sustained_health_reset,
            restart=self.adapters.restart,
        )
        self.health_checks = runner
        if interval is None or not runner.has_work:
            return

        async def loop() -> None:
            while not self.shutdown_event.is_set():
                await self._sleep(interval)
                if not self.shutdown_event.is_set():
                    await runner.check_all()

        self._spawn(loop(), "health-checks")

    # --- phase 4: teardown ------------------------------------------------------------

    async def teardown(self) -> None:
        """Stop the handlers (grace, cancel, abandon), announce offline, release, disconnect."""
        self.shutdown_event.set()
        self.sleeps.wake_all()
        for runner, _ in self.wiring.streams if self.wiring is not None else ():
            runner.stop()
        self.teardown_step = "stopping the handlers"
        await self.handlers.stop()
        self.teardown_step = "saving device state"
        stores = self.injectables.stores
        if stores is not None:
            stores.save_changed()
            await stores.aclose()
        self.teardown_step = "publishing offline"
        if self.announcer is not None:
            await self.announcer.close()
        if self._served:
            await self._report_store_problems()  # a write that failed during the run
            await self.health.shutdown()
        self.teardown_step = "exiting the lifespan, adapters and shared state"
        try:
            await self.release()
        finally:
            await self.sleeps.stop()
            self.teardown_step = "disconnecting from the broker"
            if isinstance(self.mqtt, MqttLifecycle):
                await self.mqtt.stop()
            if self.health_file is not None:
                self.health_file.stop()  # "stopped": the file's last write
            self.teardown_step = "done"

    @property
    def will_topic(self) -> str:
        """The topic the app's last will sets to ``offline``: its status topic."""
        return status_topic(self.prefix)

    def stuck(self, loop: asyncio.AbstractEventLoop, *, blocked: bool) -> list[str]:
        """For the watchdog (another thread): a log line for each handler teardown waits for."""
        return self.handlers.stuck(loop, blocked=blocked, step=self.teardown_step)
