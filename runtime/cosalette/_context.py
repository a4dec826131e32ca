"""The contexts handed to user code: AppContext (lifespan) and DeviceContext (devices)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import inspect
import logging
import time as _time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast, overload

from cosalette._clock import ClockPort
from cosalette._json import dumps
from cosalette._mqtt.port import MqttPort
from cosalette._names import validate_sub_entity, validate_sub_topic
from cosalette._settings import Settings
from cosalette._shutdown import SleepRegistry, interruptible_sleep
from cosalette._topics import DeviceTopics

T = TypeVar("T")

logger = logging.getLogger("cosalette")

CommandHandler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Command:
    """An inbound command: the full topic, raw payload, and sub-topic (None for root)."""

    topic: str
    payload: str
    sub_topic: str | None = None
    timestamp: float = 0.0


def _lookup_adapter(adapters: Mapping[Any, object], port_type: Any) -> Any:
    try:
        return adapters[port_type]
    except KeyError:
        name = getattr(port_type, "__qualname__", repr(port_type))
        raise LookupError(f"No adapter registered for {name}") from None


class CommandInbox:
    """A device's ``on_command`` handlers and queued commands.

    Shared by the device's context (which registers handlers and reads the queue) and the
    runtime's router for the device (which delivers commands).
    """

    def __init__(self) -> None:
        self.handlers: dict[str | None, CommandHandler] = {}
        self.queue: asyncio.Queue[Command] = asyncio.Queue()
        self.consumed = False

    def reset(self) -> None:
        """Forget handlers before a device handler is (re)started."""
        self.handlers.clear()
        self.consumed = False

    def enqueue(self, command: Command) -> None:
        """Queue *command* for ``ctx.commands()``."""
        self.queue.put_nowait(command)


class AppContext:
    """What the lifespan sees: settings and adapters, no per-device features."""

    def __init__(
        self,
        *,
        settings: Settings,
        adapters: dict[type, object],
        state: Mapping[type, object] | None = None,
    ) -> None:
        self._settings = settings
        self._adapters = adapters
        self._state = state or {}

    @property
    def settings(self) -> Settings:
        """Application settings."""
        return self._settings

    def adapter(self, port_type: type[T]) -> T:
        """The adapter for *port_type*, or the shared state of that type; LookupError if none."""
        if port_type in self._state and port_type not in self._adapters:
            return cast(T, self._state[port_type])
        return cast(T, _lookup_adapter(self._adapters, port_type))


class DeviceContext:
    """Per-device access to publishing, commands, shutdown-aware sleep and adapters."""

    def __init__(
        self,
        *,
        name: str,
        settings: Settings,
        mqtt: MqttPort,
        topic_prefix: str,
        shutdown_event: asyncio.Event,
        adapters: dict[type, object],
        clock: ClockPort,
        is_root: bool = False,
        _sleeps: SleepRegistry | None = None,
        inbox: CommandInbox | None = None,
    ) -> None:
        self._name = name
        self._settings = settings
        self._mqtt = mqtt
        self._topic_prefix = topic_prefix
        self._shutdown_event = shutdown_event
        self._adapters = adapters
        self._clock = clock
        self._is_root = is_root
        self._sleeps = _sleeps
        self._topics = DeviceTopics.of(topic_prefix, name, is_root=is_root)
        self._topic_base = self._topics.base
        self._state_topic = self._topics.state
        self._inbox = inbox if inbox is not None else CommandInbox()
        self._active_sub_entities: set[str] = set()

    @property
    def name(self) -> str:
        """Device name as registered."""
        return self._name

    @property
    def settings(self) -> Settings:
        """Application settings."""
        return self._settings

    @property
    def clock(self) -> ClockPort:
        """Monotonic clock (a FakeClock in tests)."""
        return self._clock

    @property
    def is_root(self) -> bool:
        """True for the root (unnamed) device, whose topics sit directly under the prefix."""
        return self._is_root

    @property
    def topic_base(self) -> str:
        """``{prefix}/{device}``, or ``{prefix}`` for the root device."""
        return self._topic_base

    @property
    def shutdown_requested(self) -> bool:
        """True once the framework has been asked to shut down."""
        return self._shutdown_event.is_set()

    def adapter(self, port_type: type[T]) -> T:
        """The adapter registered for *port_type*; LookupError if none."""
        return cast(T, _lookup_adapter(self._adapters, port_type))

    async def publish_state(self, payload: dict[str, object], *, retain: bool = True) -> None:
        """Publish *payload* as compact JSON on ``{base}/state``, QoS 1, retained by default."""
        await self._mqtt.publish(self._state_topic, payload, retain=retain, qos=1)

    async def publish(
        self, channel: str, payload: str, *, retain: bool = False, qos: int = 1
    ) -> None:
        """Publish to ``{base}/{channel}``: the escape hatch for non-standard topics."""
        await self._mqtt.publish(self._topics.channel(channel), payload, retain=retain, qos=qos)

    async def sleep(self, seconds: float) -> None:
        """Sleep, returning early (without an exception) when shutdown is requested."""
        await interruptible_sleep(self._clock, seconds, self._shutdown_event, self._sleeps)

    async def sleep_until(
        self,
        target: datetime.time | Sequence[datetime.time],
        *,
        tz: datetime.tzinfo | None = None,
    ) -> None:
        """Sleep until the next occurrence of a wall-clock time (or the nearest of several)."""
        await self.sleep(seconds_until(target, tz=tz))

    # --- commands -------------------------------------------------------------------

    @property
    def command_handler(self) -> CommandHandler | None:
        """The root command handler, if any (framework-internal)."""
        return self._inbox.handlers.get(None)

    @property
    def command_handlers(self) -> Mapping[str | None, CommandHandler]:
        """All command handlers by sub-topic (framework-internal)."""
        return self._inbox.handlers

    def get_command_handler(self, sub_topic: str | None = None) -> CommandHandler | None:
        """The handler for *sub_topic* (None: root), if registered."""
        return self._inbox.handlers.get(sub_topic)

    @overload
    def on_command(self, handler_or_sub_topic: CommandHandler, /) -> CommandHandler: ...

    @overload
    def on_command(
        self, handler_or_sub_topic: str | None = ..., /
    ) -> Callable[[CommandHandler], CommandHandler]: ...

    def on_command(
        self, handler_or_sub_topic: CommandHandler | str | None = None, /
    ) -> CommandHandler | Callable[[CommandHandler], CommandHandler]:
        """Register a command handler: ``@ctx.on_command``, ``ctx.on_command(h)`` or
        ``@ctx.on_command("calibrate")`` for ``{base}/calibrate/set``."""
        if callable(handler_or_sub_topic):
            return self._register_handler(handler_or_sub_topic, None)
        sub = handler_or_sub_topic
        if sub is not None:
            validate_sub_topic(sub)

        def decorator(handler: CommandHandler) -> CommandHandler:
            return self._register_handler(handler, sub)

        return decorator

    def _register_handler(self, handler: CommandHandler, sub: str | None) -> CommandHandler:
        if sub is None and self._inbox.consumed:
            raise RuntimeError(
                f"Cannot register on_command: commands() is already active "
                f"for device '{self._name}'"
            )
        if sub in self._inbox.handlers:
            label = f"sub-topic '{sub}'" if sub else "root"
            raise RuntimeError(
                f"Command handler already registered for {label} on device '{self._name}'"
            )
        if not inspect.iscoroutinefunction(handler):
            raise TypeError(f"Command handler {handler!r} must be an async function")
        self._inbox.handlers[sub] = handler
        return handler

    def commands(self, timeout: float | None = None) -> AsyncIterator[Command | None]:
        """Iterate inbound commands; with *timeout*, yields None when none arrived in time."""
        if self._inbox.consumed:
            raise RuntimeError(f"commands() already active for device '{self._name}'")
        if None in self._inbox.handlers:
            raise RuntimeError(
                f"Cannot use commands(): an on_command handler is already registered "
                f"for device '{self._name}'"
            )
        self._inbox.consumed = True
        return self._iterate_commands(timeout)

    async def _iterate_commands(self, wait: float | None) -> AsyncIterator[Command | None]:
        while not self.shutdown_requested:
            command = await self._next_command(wait)
            if command is not None:
                yield command
            elif self.shutdown_requested:
                break
            elif wait is not None:
                yield None
        while not self._inbox.queue.empty():
            yield self._inbox.queue.get_nowait()

    async def _next_command(self, wait: float | None) -> Command | None:
        if not self._inbox.queue.empty():
            return self._inbox.queue.get_nowait()
        getter = asyncio.ensure_future(self._inbox.queue.get())
        stopper = asyncio.ensure_future(self._shutdown_event.wait())
        waiters: set[asyncio.Future[Any]] = {getter, stopper}
        timer: asyncio.Future[None] | None = None
        if wait is not None:
            timer = asyncio.ensure_future(self._clock.sleep(wait))
            waiters.add(timer)
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for fut in waiters:
                if fut is not getter and not fut.done():
                    fut.cancel()
            if not getter.done():
                getter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await getter
        if getter.done() and not getter.cancelled():
            return getter.result()
        return None

    @property
    def wants_queued_commands(self) -> bool:
        """Whether unhandled commands should be queued for ``commands()``."""
        return self._inbox.consumed

    # --- sub-entities -----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def sub_entity(self, name: str) -> AsyncIterator[SubEntityContext]:
        """A scoped sub-entity: ``online`` on enter; state cleared and ``offline`` on exit."""
        validate_sub_entity(name)
        if name == self._name:
            logger.warning("Sub-entity %r of device %r has the device's own name", name, self._name)
        if name in self._active_sub_entities:
            raise ValueError(f"Sub-entity '{name}' is already active on device '{self._name}'")
        topics = self._topics.sub(name)
        self._active_sub_entities.add(name)
        try:
            await self._mqtt.publish(topics.availability, "online", retain=True, qos=1)
            yield SubEntityContext(name=name, parent=self)
        finally:
            try:
                await self._mqtt.publish(topics.state, "", retain=True, qos=1)
                await self._mqtt.publish(topics.availability, "offline", retain=True, qos=1)
            finally:
                self._active_sub_entities.discard(name)


class SubEntityContext:
    """Publishing scoped to ``{base}/{sub_entity}``; created by ``DeviceContext.sub_entity``."""

    def __init__(self, *, name: str, parent: DeviceContext) -> None:
        self.name = name
        self.parent = parent

    async def publish_state(self, payload: dict[str, object], *, retain: bool = True) -> None:
        """Publish *payload* on ``{base}/{name}/state``."""
        await self.parent.publish(DeviceTopics(self.name).state, dumps(payload), retain=retain)

    def on_command(self, handler: CommandHandler) -> CommandHandler:
        """Handle commands on ``{base}/{name}/set``."""
        return self.parent.on_command(self.name)(handler)


def seconds_until(
    target: datetime.time | Sequence[datetime.time],
    *,
    tz: datetime.tzinfo | None = None,
    now: datetime.datetime | None = None,
) -> float:
    """Seconds from *now* until the next occurrence of *target* (nearest of a sequence)."""
    targets = [target] if isinstance(target, datetime.time) else list(target)
    if not targets:
        raise ValueError("sleep_until() needs at least one target time")
    current = now or datetime.datetime.now(tz or datetime.datetime.now().astimezone().tzinfo)
    best: float | None = None
    for t in targets:
        candidate = current.replace(
            hour=t.hour, minute=t.minute, second=t.second, microsecond=t.microsecond
        )
        if candidate <= current:
            candidate += datetime.timedelta(days=1)
        delta = (candidate - current).total_seconds()
        best = delta if best is None else min(best, delta)
    assert best is not None
    return best


def monotonic() -> float:
    """Receipt timestamps for commands."""
    return _time.monotonic()
