"""AppHarness: an App with MockMqttClient, FakeClock and test settings, ready to drive."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Self, TypeVar

from cosalette._app.app import App, LifespanFunc, run_until_shutdown
from cosalette._mqtt.doubles import MockMqttClient
from cosalette._settings import Settings
from cosalette._streams import Stream
from cosalette._topics import DeviceTopics, topic_root
from cosalette._wiring.runtime import Runtime
from cosalette.testing._clock import FakeClock
from cosalette.testing._settings import make_settings
from cosalette.testing._streams import inject_stream, prepared_runtime, run_stream

_SETTLE_ROUNDS = 200
T = TypeVar("T")


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
        self.adapter_overrides: dict[Any, object] = {}
        self.state_overrides: dict[type, object] = {}
        """Adapter instances to use instead of building them, by port (from the next start)."""
        self.runtime: Runtime | None = None
        """The current (or last) run, once it is wired."""

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
        store: Any = None,
        **settings_overrides: Any,
    ) -> Self:
        """A harness around a fresh App (or *app*), with settings from *settings_overrides*.

        A fresh App has no store unless *store* is given (``MemoryStore()`` keeps it in the
        test: ``store._data`` shows what was saved).
        """
        if app is None:
            app = App(
                name=name,
                version=version,
                dry_run=dry_run,
                lifespan=lifespan,
                settings_class=settings_class,
                store=store,
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
        return topic_root(self.app.name, self.settings)

    # --- running ------------------------------------------------------------------------

    async def run(self) -> None:
        """Run the app until :meth:`trigger_shutdown`."""
        await run_until_shutdown(
            self.app,
            mqtt=self.mqtt,
            settings=self.settings,
            shutdown_event=self.shutdown_event,
            clock=self.clock,
            run_periodic=self.run_periodic,
            adapter_overrides=self.adapter_overrides,
            on_prepared=self._prepared,
            state_overrides=self.state_overrides,
        )

    def override_state(self, state_type: type[T], value: T) -> None:
        """Use *value* instead of calling *state_type*'s ``@app.state`` factory (next start)."""
        if not isinstance(value, state_type):
            raise TypeError(
                f"override_state({state_type.__qualname__}, ...): got a {type(value).__qualname__}"
            )
        if state_type not in {f.type for f in self.app.state_factories}:
            raise ValueError(f"{state_type.__qualname__} is not an @app.state type of this app")
        self.state_overrides[state_type] = value

    def _prepared(self, runtime: Runtime) -> None:
        self.runtime = runtime

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
        return DeviceTopics.of(self.prefix, device, is_root=not device).channel(suffix)

    async def inject_command(
        self, device: str, payload: str | dict[str, Any], topic: str | None = None
    ) -> None:
        """Deliver *payload* to ``{prefix}/{device}/set`` (or *topic*); wait until handled."""
        text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
        await self.mqtt.deliver(topic or self._topic(device, "set"), text)
        await settle()

    async def tick_periodic(self, name: str) -> None:
        """Run one cycle of periodic task *name* now, without its interval sleep."""
        description = self.app.describe(self.settings)  # on_configure hooks included
        periodic = description.registrations.periodic
        if not any(r.name == name for r in periodic):
            known = ", ".join(r.name for r in periodic) or "none"
            raise ValueError(f"No periodic task named '{name}' (registered: {known})")
        async with prepared_runtime(self, description, asyncio.Event()) as runtime:
            await runtime.periodic_runner(name).tick()

    async def inject_stream(self, name: str, *items: Any, shutdown: bool = True) -> None:
        """Run stream *name*'s handler over *items*, without its port; return when it ends.

        The handler gets its usual injection (context, settings, adapters, state, store) and
        reactors; every item reaches it (no ``maxsize``). With *shutdown* the stream ends once
        drained; otherwise it ends at :meth:`trigger_shutdown`. The app's adapters are built,
        not opened; handler errors propagate. Unknown *name*: ``ValueError``.
        """
        await inject_stream(self, name, items, shutdown)

    async def run_stream(
        self,
        func: Callable[..., Any],
        adapters: Mapping[Any, object],
        *,
        shutdown: asyncio.Event | None = None,
    ) -> Stream[Any]:
        """Run *func* as stream ``"test_stream"`` with the full port lifecycle; return its Stream.

        *adapters* (e.g. ``{StreamablePort[Reading]: fake}``) add to the app's. The port is
        opened, given the stream's ``put``, scanned, and stopped and closed when *shutdown*
        (default :attr:`shutdown_event`) is set or the handler ends; handler errors propagate.
        """
        return await run_stream(self, func, adapters, shutdown)

    # --- observations -------------------------------------------------------------------

    def messages_for(self, topic: str) -> list[tuple[str, bool, int]]:
        """``(payload, retain, qos)`` for every publish on *topic*, oldest first."""
        return self.mqtt.get_messages_for(topic)

    def _state_topic(self, topic: str) -> str:
        return topic if "/" in topic else self._topic(topic, "state")

    def assert_published(
        self, topic: str, contains: str | dict[str, Any] | None = None, count: int | None = None
    ) -> None:
        """Assert something was published on *topic* (containing *contains*, *count* times).

        A string *contains* is a substring of a raw payload; a dict must be a deep subset of a
        JSON-object payload.
        """
        messages = self.messages_for(topic)
        if count is not None and len(messages) != count:
            raise AssertionError(
                f"{topic}: expected {count} publishes, got {len(messages)}: {_describe(messages)}"
            )
        if not messages:
            seen = sorted({t for t, *_ in self.mqtt.published})
            raise AssertionError(f"nothing published on {topic}; topics seen: {seen}")
        if contains is not None and not any(_contains(p, contains) for p, _, _ in messages):
            raise AssertionError(
                f"{topic}: no payload contains {contains!r}; got {_describe(messages)}"
            )

    def assert_state(self, topic: str, expected: dict[str, Any], count: int | None = None) -> None:
        """Assert a retained JSON-object state on *topic* (or device name) contains *expected*.

        Any retained state passes if it is a deep superset of *expected* (dicts recurse, other
        values compare equal; ``{}`` matches any state). *count* counts every message on the
        topic, retained or not.
        """
        full = self._state_topic(topic)
        messages = self.messages_for(full)
        if count is not None and len(messages) != count:
            raise AssertionError(
                f"{full}: expected {count} messages, got {len(messages)}: {_describe(messages)}"
            )
        if not messages:
            seen = sorted({t for t, *_ in self.mqtt.published})
            raise AssertionError(f"no state published on {full}; topics seen: {seen}")
        matching = [(p, retain) for p, retain, _ in messages if _matches_state(p, expected)]
        if any(retain for _, retain in matching):
            return
        if matching:
            raise AssertionError(
                f"{full}: a state matching {expected!r} was published but not retained "
                f"({matching[-1][0]!r}); published: {_describe(messages)}"
            )
        raise AssertionError(
            f"{full}: no retained state contains {expected!r}; published: {_describe(messages)}"
        )

    def assert_subscribed(self, topic: str) -> None:
        """Assert the app subscribed to *topic*."""
        if topic not in self.mqtt.subscriptions:
            raise AssertionError(
                f"not subscribed to {topic}; subscriptions: {self.mqtt.subscriptions}"
            )

    async def wait_for_publish_count(
        self, topic: str, n: int, *, max_rounds: int = 10_000
    ) -> list[tuple[str, bool, int]]:
        """Let the loop run until *topic* has at least *n* publishes; return its messages."""
        for _ in range(max_rounds):
            messages = self.messages_for(topic)
            if len(messages) >= n:
                return messages
            await asyncio.sleep(0)
        raise AssertionError(
            f"{topic}: expected {n} publishes, got {len(self.messages_for(topic))}"
        )


def _describe(messages: list[tuple[str, bool, int]]) -> str:
    """Render messages for a failure: each payload with its retain flag."""
    if not messages:
        return "nothing"
    return ", ".join(
        f"{p!r} ({'retained' if retain else 'not retained'})" for p, retain, _ in messages
    )


def _is_superset(actual: object, expected: object) -> bool:
    """Dicts recurse (extra keys in *actual* are fine); anything else compares equal."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and _is_superset(actual[key], value) for key, value in expected.items()
        )
    return actual == expected


def _json_object(payload: str) -> dict[str, Any] | None:
    """The payload as a JSON object, or None when it is not one."""
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _matches_state(payload: str, expected: dict[str, Any]) -> bool:
    data = _json_object(payload)
    return data is not None and _is_superset(data, expected)


def _contains(payload: str, expected: str | dict[str, Any]) -> bool:
    if isinstance(expected, str):
        return expected in payload
    return _matches_state(payload, expected)
