"""A run from start to teardown: the phases of the spec, in order, and back in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from cosalette._app.registration import RegistrationSet
from cosalette._clock import ClockPort, SystemClock
from cosalette._context import AppContext
from cosalette._di.plan import InjectionError
from cosalette._errors import ErrorPublisher, StartupError
from cosalette._health import HealthCheckRunner, HealthReporter, build_will_config
from cosalette._mqtt.port import MqttLifecycle, MqttMessageHandler, MqttPort
from cosalette._runners.device import TaskSupervisor, run_device
from cosalette._runners.payloads import FRAMEWORK_ERROR_TYPES, PayloadTooLargeError
from cosalette._settings import Settings
from cosalette._shutdown import SleepRegistry
from cosalette._wiring.devices import DeviceUnit, Wiring, WiringBuilder
from cosalette._wiring.expand import expand

if TYPE_CHECKING:
    from cosalette._app.app import App

logger = logging.getLogger("cosalette")

TEARDOWN_GRACE = 5.0


def default_mqtt(app: App, settings: Settings, prefix: str) -> MqttPort:
    """The real client with the app's last will and a readable client id."""
    from cosalette._mqtt.client import MqttClient

    mqtt_settings = settings.mqtt
    if not mqtt_settings.client_id:
        mqtt_settings = mqtt_settings.model_copy(
            update={"client_id": f"{app.name}-{secrets.token_hex(4)}"}
        )
    return MqttClient(mqtt_settings, will=build_will_config(prefix))


class Runtime:
    """One run of an App: prepare (no network), then serve until shutdown."""

    def __init__(
        self,
        app: App,
        *,
        settings: Settings,
        mqtt: MqttPort | None,
        shutdown_event: asyncio.Event,
        clock: ClockPort | None,
        dry_run: bool,
        run_periodic: bool = True,
    ) -> None:
        self.app = app
        self.settings = settings
        self.prefix = settings.mqtt.topic_prefix or app.name
        self.mqtt: MqttPort = mqtt if mqtt is not None else default_mqtt(app, settings, self.prefix)
        self.shutdown_event = shutdown_event
        self.clock: ClockPort = clock if clock is not None else SystemClock()
        self.dry_run = dry_run
        self.run_periodic = run_periodic
        self.sleeps = SleepRegistry(shutdown_event)
        self.errors = ErrorPublisher(
            self.mqtt, self.prefix, {**FRAMEWORK_ERROR_TYPES, **app.error_type_map}
        )
        self.health = HealthReporter(self.mqtt, self.prefix, app.version, self.clock)
        self.regs = RegistrationSet()
        self.adapters: dict[Any, object] = {}
        self.wiring: Wiring | None = None
        self.builder: WiringBuilder | None = None
        self._routes: dict[str, DeviceUnit] = {}
        self._device_routes: dict[str, DeviceUnit] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stack = contextlib.AsyncExitStack()
        self.health_checks: HealthCheckRunner | None = None
        self._served = False

    # --- phase 1 and 2: adapters, lifespan, wiring --------------------------------------

    async def prepare(self) -> None:
        """Build and enter adapters, enter the lifespan, bind every handler.

        Problems found here raise :class:`StartupError` before anything is published.
        """
        try:
            await self._prepare()
        except StartupError:
            raise
        except (InjectionError, ImportError, LookupError, TypeError, ValueError) as exc:
            raise StartupError(f"{self.app.name}: {exc}") from exc

    async def _prepare(self) -> None:
        self.regs = expand(self.app._regs, self.settings)
        base = {Settings: self.settings, type(self.settings): self.settings, ClockPort: self.clock}
        built = self.app._adapter_registry.build_all(base, dry_run=self.dry_run)
        for port, adapter in built.items():
            self.adapters[port] = await self._enter(adapter)
        await self._stack.enter_async_context(
            self.app._lifespan(AppContext(settings=self.settings, adapters=self.adapters))
        )
        self.builder = WiringBuilder(
            settings=self.settings,
            settings_class=self.app.settings_class,
            mqtt=self.mqtt,
            topic_prefix=self.prefix,
            shutdown_event=self.shutdown_event,
            adapters=self.adapters,
            clock=self.clock,
            sleeps=self.sleeps,
            errors=self.errors,
            health=self.health,
        )
        self.builder.extra = {key: make(self.settings) for key, make in self.app._providers.items()}
        self.wiring = self.builder.build(self.regs, run_periodic=self.run_periodic)
        self._build_routes(self.wiring)

    async def _enter(self, adapter: object) -> object:
        if hasattr(adapter, "__aenter__") and hasattr(adapter, "__aexit__"):
            entered = await self._stack.enter_async_context(adapter)
            return entered if entered is not None else adapter
        return adapter

    def _build_routes(self, wiring: Wiring) -> None:
        for unit in wiring.units:
            base = unit.ctx.topic_base
            if unit.commands is not None:
                self._routes[f"{base}/set"] = unit
            elif unit.device_commands is not None:
                self._device_routes[base] = unit

    def command_topics(self) -> list[str]:
        """Every topic this run subscribes to."""
        topics = list(self._routes)
        for base in self._device_routes:
            topics += [f"{base}/set", f"{base}/+/set"]
        return topics

    # --- inbound messages -------------------------------------------------------------

    async def on_message(self, topic: str, payload: str) -> None:
        """Route one inbound message to its entity; never blocks on the handler."""
        unit = self._routes.get(topic)
        sub: str | None = None
        if unit is None:
            unit, sub = self._device_for(topic)
            if unit is None:
                return
        limit = self.settings.mqtt.max_payload_bytes
        if len(payload) * 4 > limit and len(payload.encode()) > limit:
            await self._reject_large(topic, payload, unit)
        elif unit.commands is not None:
            unit.commands.submit(topic, payload)
        elif unit.device_commands is not None:
            unit.device_commands.submit(topic, payload, sub)

    def _device_for(self, topic: str) -> tuple[DeviceUnit | None, str | None]:
        if not topic.endswith("/set"):
            return None, None
        parent = topic[:-4]
        unit = self._device_routes.get(parent)
        if unit is not None:
            return unit, None
        base, _, sub = parent.rpartition("/")
        unit = self._device_routes.get(base)
        return (unit, sub) if unit is not None else (None, None)

    async def _reject_large(self, topic: str, payload: str, unit: DeviceUnit) -> None:
        size = len(payload.encode())
        exc = PayloadTooLargeError(
            f"payload of {size} bytes on {topic} exceeds mqtt.max_payload_bytes "
            f"({self.settings.mqtt.max_payload_bytes})"
        )
        await unit.reporting.bad_input(exc, topic=topic)

    # --- phase 3: run -----------------------------------------------------------------

    async def serve(self) -> None:
        """Connect, announce, start every task, and wait for shutdown."""
        assert self.wiring is not None, "prepare() must run first"
        self._served = True
        self.sleeps.start()
        if isinstance(self.mqtt, MqttMessageHandler):
            self.mqtt.on_message(self.on_message)
        on_connect = getattr(self.mqtt, "on_connect", None)
        if callable(on_connect):
            on_connect(self.health.republish_availability)
        if isinstance(self.mqtt, MqttLifecycle):
            await self.mqtt.start()
        for unit in self.wiring.units:
            await self.health.publish_device_available(unit.name, is_root=unit.is_root)
        await self.health.publish_heartbeat()
        self._start_tasks(self.wiring)
        await asyncio.sleep(0)  # let @device handlers register on_command before messages flow
        for topic in self.command_topics():
            await self.mqtt.subscribe(topic)
        await self.shutdown_event.wait()

    def _spawn(self, coro: Awaitable[None], name: str) -> None:
        self._tasks.append(asyncio.ensure_future(coro))
        self._tasks[-1].set_name(name)

    def _start_tasks(self, wiring: Wiring) -> None:
        supervisor = TaskSupervisor(
            max_restarts=self.app._max_restarts,
            restart_cooldown=self.app._restart_cooldown,
            sustained_health_reset=self.app._sustained_health_reset,
            clock=self.clock,
            sleep=self._sleep,
            shutdown_event=self.shutdown_event,
        )
        for unit in wiring.units:
            start = self._unit_start(unit)
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
                f"cosalette:{unit.kind}:{unit.name}",
            )
        for runner in wiring.periodic:
            self._spawn(runner.run(), f"cosalette:periodic:{runner.name}")
        if self.app._heartbeat_interval is not None:
            self._spawn(self._heartbeats(self.app._heartbeat_interval), "cosalette:heartbeat")
        self._start_health_checks(wiring)

    def _unit_start(self, unit: DeviceUnit) -> Callable[[], Awaitable[None]] | None:
        if unit.telemetry is not None:
            return unit.telemetry.run
        if unit.device_func is not None:

            def start(u: DeviceUnit = unit) -> Awaitable[None]:
                u.ctx._reset_commands()
                return run_device(u.device_func, u.device_kwargs, u.ctx)

            return start
        return None

    async def _sleep(self, seconds: float) -> None:
        from cosalette._shutdown import interruptible_sleep

        await interruptible_sleep(self.clock, seconds, self.shutdown_event, self.sleeps)

    async def _heartbeats(self, interval: float) -> None:
        while not self.shutdown_event.is_set():
            await self._sleep(interval)
            if not self.shutdown_event.is_set():
                await self.health.publish_heartbeat()

    def _start_health_checks(self, wiring: Wiring) -> None:
        interval = self.app._health_check_interval
        by_adapter: dict[Any, list[tuple[str, bool]]] = {}
        for unit in wiring.units:
            for port in unit.adapters_used:
                by_adapter.setdefault(port, []).append((unit.name, unit.is_root))
        runner = HealthCheckRunner(
            self.adapters,
            by_adapter,
            self.health,
            self.clock,
            restart_after_failures=self.app._restart_after_failures,
            max_restarts=self.app._max_restarts,
            sustained_health_reset=self.app._sustained_health_reset,
            restart=self._restart_adapter,
        )
        self.health_checks = runner
        if interval is None or not runner.has_work:
            return

        async def loop() -> None:
            while not self.shutdown_event.is_set():
                await self._sleep(interval)
                if not self.shutdown_event.is_set():
                    await runner.check_all()

        self._spawn(loop(), "cosalette:health-checks")

    async def _restart_adapter(self, port: Any) -> bool:
        adapter = self.adapters.get(port)
        try:
            if hasattr(adapter, "__aexit__") and hasattr(adapter, "__aenter__"):
                await adapter.__aexit__(None, None, None)
                await adapter.__aenter__()
                return True
            entry = self.app._adapter_registry.entries[port]
            base = {Settings: self.settings, type(self.settings): self.settings}
            fresh = self.app._adapter_registry.build(port, entry, base, dry_run=self.dry_run)
            self.adapters[port] = fresh
            if self.health_checks is not None:
                self.health_checks.replace_adapter(port, fresh)
            return True
        except Exception:
            logger.exception("Restarting adapter %r failed", port)
            return False

    # --- phase 4: teardown ------------------------------------------------------------

    async def teardown(self) -> None:
        """Stop tasks (grace period, then cancel), announce offline, exit lifespan and adapters."""
        self.shutdown_event.set()
        self.sleeps.wake_all()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=TEARDOWN_GRACE)
            for task in pending:
                logger.warning(
                    "Task %s did not stop within %.0f s; cancelling it",
                    task.get_name(),
                    TEARDOWN_GRACE,
                )
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.wiring is not None:
            for unit in self.wiring.units:
                for queue in (unit.commands, unit.device_commands):
                    if queue is not None:
                        with contextlib.suppress(Exception):
                            await asyncio.wait_for(queue.queue.join(), TEARDOWN_GRACE)
                        await queue.queue.cancel()
        if self._served:
            await self.health.shutdown()
        try:
            await self._stack.aclose()
        finally:
            await self.sleeps.stop()
            if isinstance(self.mqtt, MqttLifecycle):
                await self.mqtt.stop()


def install_signal_handlers(event: asyncio.Event) -> Callable[[], None]:
    """SIGINT/SIGTERM set *event*; returns a function that removes the handlers."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, event.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            continue

    def remove() -> None:
        for sig in installed:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)

    return remove
