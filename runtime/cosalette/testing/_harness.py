"""AppHarness: an App with MockMqttClient, FakeClock and test settings, ready to drive."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any, Self

from cosalette._app.app import App, LifespanFunc
from cosalette._mqtt.doubles import MockMqttClient
from cosalette._settings import Settings
from cosalette.testing._clock import FakeClock
from cosalette.testing._settings import make_settings

_SETTLE_ROUNDS = 200


async def settle() -> None:
    """Let every ready task run until the loop has nothing left to do right now."""
    loop = asyncio.get_running_loop()
    ready = getattr(loop, "_ready", None)
    for _ in range(_SETTLE_ROUNDS):
        await asyncio.sleep(0)
        if ready is not None and not ready:
            await asyncio.sleep(0)
            if not ready:
                return


class AppHarness:
    """Runs an App against test doubles and offers assertions on what it published."""

    def __init__(
        self,
        *,
        app: App,
        mqtt: MockMqttClient | None = None,
        clock: FakeClock | None = None,
        settings: Settings | None = None,
        shutdown_event: asyncio.Event | None = None,
        run_periodic: bool = False,
    ) -> None:
        self.app = app
        self.mqtt = mqtt if mqtt is not None else MockMqttClient()
        self.clock = clock if clock is not None else FakeClock()
        self.settings = settings if settings is not None else make_settings(app.settings_class)
        self.shutdown_event = shutdown_event if shutdown_event is not None else asyncio.Event()
        self.run_periodic = run_periodic
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def create(
        cls,
        *,
        name: str = "testapp",
        version: str = "1.0.0",
        dry_run: bool = False,
        lifespan: LifespanFunc | None = None,
        run_periodic: bool = False,
        settings_class: type[Settings] = Settings,
        app: App | None = None,
        **settings_overrides: Any,
    ) -> Self:
        """A harness around a fresh App (or *app*), with settings from *settings_overrides*."""
        if app is None:
            app = App(
                name=name,
                version=version,
                dry_run=dry_run,
                lifespan=lifespan,
                settings_class=settings_class,
            )
        return cls(
            app=app,
            settings=make_settings(app.settings_class, **settings_overrides),
            run_periodic=run_periodic,
        )

    @classmethod
    def for_project(cls, path: str | Path = ".", **settings_overrides: Any) -> AppHarness:
        """A harness over the project at *path*: fake adapters, settings.toml plus overrides."""
        from cosalette.testing._project import project_harness

        return project_harness(path, **settings_overrides)

    @property
    def prefix(self) -> str:
        """The topic prefix the app publishes under."""
        return self.settings.mqtt.topic_prefix or self.app.name

    # --- running ------------------------------------------------------------------------

    async def run(self) -> None:
        """Run the app until :meth:`trigger_shutdown`."""
        await self.app._run_async(
            mqtt=self.mqtt,
            settings=self.settings,
            shutdown_event=self.shutdown_event,
            clock=self.clock,
            run_periodic=self.run_periodic,
        )

    async def start(self) -> None:
        """Start the app in the background and return once it serves (first cycles done)."""
        if self._task is not None:
            raise RuntimeError("The harness is already running")
        self._task = asyncio.ensure_future(self.run())
        await settle()
        if self._task.done():
            task, self._task = self._task, None
            task.result()  # re-raise a start-up error here

    async def stop(self) -> None:
        """Trigger shutdown and wait for teardown to finish."""
        self.trigger_shutdown()
        if self._task is not None:
            task, self._task = self._task, None
            await task

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def trigger_shutdown(self) -> None:
        """Ask the app to shut down."""
        self.shutdown_event.set()

    async def advance_time(self, seconds: float) -> None:
        """Move the FakeClock forward, stopping at every due sleep so loops run in order."""
        target = self.clock.now() + seconds
        await settle()
        while True:
            due = self.clock.next_deadline()
            if due is None or due > target:
                break
            self.clock.set(due)
            await settle()
        self.clock.set(target)
        await settle()

    # --- inputs -------------------------------------------------------------------------

    def _topic(self, device: str, suffix: str) -> str:
        return f"{self.prefix}/{device}/{suffix}" if device else f"{self.prefix}/{suffix}"

    async def inject_command(
        self, device: str, payload: str | dict[str, Any], topic: str | None = None
    ) -> None:
        """Deliver *payload* to ``{prefix}/{device}/set`` (or *topic*); wait until handled."""
        text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
        await self.mqtt.deliver(topic or self._topic(device, "set"), text)
        await settle()

    async def tick_periodic(self, name: str) -> None:
        """Run one cycle of periodic task *name* now, without its interval sleep."""
        from cosalette._wiring.lifecycle import Runtime

        reg = next((r for r in self.app.periodic_registrations if r.name == name), None)
        if reg is None:
            known = ", ".join(r.name for r in self.app.periodic_registrations) or "none"
            raise ValueError(f"No periodic task named '{name}' (registered: {known})")
        runtime = Runtime(
            self.app,
            settings=self.settings,
            mqtt=self.mqtt,
            shutdown_event=asyncio.Event(),
            clock=self.clock,
            dry_run=self.app.dry_run,
            run_periodic=False,
        )
        await runtime.prepare()
        try:
            assert runtime.builder is not None
            resolved = next(r for r in runtime.regs.periodic if r.name == name)
            await runtime.builder.periodic_runner(resolved).tick()
        finally:
            with contextlib.suppress(Exception):
                await runtime._stack.aclose()

    # --- observations -------------------------------------------------------------------

    def messages_for(self, topic: str) -> list[str]:
        """Payloads published on *topic*, oldest first."""
        return [p for p, _, _ in self.mqtt.get_messages_for(topic)]

    def _state_topic(self, topic: str) -> str:
        return topic if "/" in topic else self._topic(topic, "state")

    def assert_published(
        self, topic: str, contains: str | dict[str, Any] | None = None, count: int | None = None
    ) -> None:
        """Assert something was published on *topic* (containing *contains*, *count* times)."""
        payloads = self.messages_for(topic)
        if count is not None and len(payloads) != count:
            raise AssertionError(
                f"{topic}: expected {count} publishes, got {len(payloads)}: {payloads}"
            )
        if not payloads:
            seen = sorted({t for t, *_ in self.mqtt.published})
            raise AssertionError(f"nothing published on {topic}; topics seen: {seen}")
        if contains is not None and not any(_contains(p, contains) for p in payloads):
            raise AssertionError(f"{topic}: no payload contains {contains!r}; got {payloads}")

    def assert_state(self, topic: str, expected: dict[str, Any], count: int | None = None) -> None:
        """Assert the last state on *topic* (or device name) equals *expected*."""
        full = self._state_topic(topic)
        payloads = self.messages_for(full)
        if count is not None and len(payloads) != count:
            raise AssertionError(
                f"{full}: expected {count} states, got {len(payloads)}: {payloads}"
            )
        if not payloads:
            raise AssertionError(f"no state published on {full}")
        last = json.loads(payloads[-1])
        if last != expected:
            raise AssertionError(f"{full}: last state {last!r} != expected {expected!r}")

    def assert_subscribed(self, topic: str) -> None:
        """Assert the app subscribed to *topic*."""
        if topic not in self.mqtt.subscriptions:
            raise AssertionError(
                f"not subscribed to {topic}; subscriptions: {self.mqtt.subscriptions}"
            )

    async def wait_for_publish_count(
        self, topic: str, n: int, *, max_rounds: int = 10_000
    ) -> list[str]:
        """Let the loop run until *topic* has at least *n* publishes (no time passes)."""
        for _ in range(max_rounds):
            payloads = self.messages_for(topic)
            if len(payloads) >= n:
                return payloads
            await asyncio.sleep(0)
        raise AssertionError(
            f"{topic}: expected {n} publishes, got {len(self.messages_for(topic))}"
        )


def _contains(payload: str, expected: str | dict[str, Any]) -> bool:
    if isinstance(expected, str):
        return expected in payload
    try:
        data = json.loads(payload)
    except ValueError:
        return False
    return isinstance(data, dict) and all(data.get(k) == v for k, v in expected.items())
