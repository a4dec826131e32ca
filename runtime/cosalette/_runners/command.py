"""Command handling: one FIFO per entity, payload parsing, routing by ``sub=``, state replies."""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cosalette._app.registration import _CommandRegistration
from cosalette._context import Command, CommandInbox, DeviceContext, monotonic
from cosalette._di.plan import Param
from cosalette._health import HealthReporter
from cosalette._persistence import DeviceStore
from cosalette._runners.cycle import save_quietly
from cosalette._runners.fifo import EntityQueue
from cosalette._runners.payloads import (
    InvalidPayloadError,
    UnknownCommandError,
    parse_json_object,
    parse_model,
    payload_argument,
    to_state,
)
from cosalette._runners.reporting import DeviceReporting
from cosalette._runners.stepping import run_with_timeout

if TYPE_CHECKING:
    from cosalette._wiring.reactions import BoundReactors


@dataclass
class BoundCommand:
    """A command registration with its injected arguments resolved."""

    reg: _CommandRegistration
    kwargs: dict[str, object]
    payload_params: tuple[Param, ...]
    topic_params: tuple[str, ...]
    timeout: float | None
    reactors: BoundReactors | None = None
    label: str = field(init=False)

    def __post_init__(self) -> None:
        self.label = self.reg.label


class CommandEntity:
    """All ``@command`` handlers of one device topic, handled one message at a time."""

    def __init__(
        self,
        *,
        ctx: DeviceContext,
        handlers: Sequence[BoundCommand],
        reporting: DeviceReporting,
        health: HealthReporter,
        store: DeviceStore | None = None,
    ) -> None:
        self._ctx = ctx
        self._store = store
        self._handlers = list(handlers)
        self._by_sub = {h.reg.sub: h for h in handlers if h.reg.sub is not None}
        self._sub_key = handlers[0].reg.sub_key
        self._reporting = reporting
        self._health = health
        self._unavailable = False
        self._failed = False
        self.queue: EntityQueue[tuple[str, str]] = EntityQueue(self._handle, name=ctx.name)

    def submit(self, topic: str, payload: str) -> None:
        """Queue an inbound message; never blocks."""
        self.queue.submit((topic, payload))

    def _select(self, payload: str) -> tuple[BoundCommand, dict[str, Any] | None]:
        if not self._by_sub:
            return self._handlers[0], None
        data = parse_json_object(payload)
        value = data.get(self._sub_key)
        handler = self._by_sub.get(value) if isinstance(value, str) else None
        if handler is None:
            known = ", ".join(sorted(self._by_sub))
            shown = "missing" if value is None else repr(value)
            raise UnknownCommandError(
                f"unknown command {shown} (key '{self._sub_key}') for device "
                f"'{self._ctx.name}'; expected one of: {known}"
            )
        return handler, data

    def _arguments(self, bound: BoundCommand, topic: str, payload: str) -> dict[str, object]:
        model = bound.reg.payload_model
        parsed = parse_model(payload, model) if model is not None else None
        if not bound.payload_params and not bound.topic_params:
            return bound.kwargs
        kwargs = dict(bound.kwargs)
        for name in bound.topic_params:
            kwargs[name] = topic
        for param in bound.payload_params:
            if param.kind == "inject":
                kwargs[param.name] = parsed
            else:
                kwargs[param.name] = payload_argument(param, payload, parsed, model)
        return kwargs

    async def _handle(self, message: tuple[str, str]) -> None:
        topic, payload = message
        try:
            bound, _ = self._select(payload)
            kwargs = self._arguments(bound, topic, payload)
        except (InvalidPayloadError, UnknownCommandError) as exc:
            await self._reporting.bad_input(exc, topic=topic)
            return
        try:
            result = await run_with_timeout(
                bound.reg.func(**kwargs), bound.timeout, self._ctx.clock
            )
        except Exception as exc:
            if bound.reg.unavailable_on and isinstance(exc, bound.reg.unavailable_on):
                await self._mark_unavailable(exc, bound)
            elif isinstance(exc, InvalidPayloadError):
                await self._reporting.bad_input(exc, topic=topic)
            else:
                self._failed = True
                await self._reporting.error(exc, what=bound.label)
            return
        finally:
            store = self._store
            if store is not None and store.dirty:  # after every invocation that changed it
                save_quietly(store, bound.label)
        if self._failed:
            self._failed = False
            self._reporting.recovered(bound.label)
        if self._unavailable:
            self._unavailable = False
            await self._health.publish_device_available(self._ctx.name, is_root=self._ctx.is_root)
        if result is not None:
            if type(result) is not dict:
                result = to_state(result, bound.label)
            await self._ctx.publish_state(result)
        if bound.reactors:
            try:
                await bound.reactors.dispatch()
            except Exception as exc:
                await self._reporting.error(exc, what=f"{bound.label} reactor")

    async def _mark_unavailable(self, exc: Exception, bound: BoundCommand) -> None:
        self._unavailable = True
        await self._health.publish_device_unavailable(self._ctx.name, is_root=self._ctx.is_root)
        await self._reporting.errors.publish(exc, device=self._ctx.name, is_root=self._ctx.is_root)
        self._reporting.logger.warning("%s: device unavailable: %s", bound.label, exc)


_HANDLER_STYLE_CACHE: weakref.WeakKeyDictionary[
    Callable[..., Any], Callable[[Command], tuple[Any, ...]]
] = weakref.WeakKeyDictionary()


def _handler_arguments(handler: Callable[..., Any]) -> Callable[[Command], tuple[Any, ...]]:
    """How to call an ``on_command`` handler, decided once from its signature."""
    cached = _HANDLER_STYLE_CACHE.get(handler)
    if cached is not None:
        return cached
    params = [
        p
        for p in inspect.signature(handler).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    names = [p.name for p in params]

    def annotation_is_command(p: inspect.Parameter) -> bool:
        ann = p.annotation
        return ann is Command or (isinstance(ann, str) and ann.split(".")[-1] == "Command")

    pick: dict[str, Callable[[Command], Any]] = {
        "topic": lambda c: c.topic,
        "payload": lambda c: c.payload,
        "sub_topic": lambda c: c.sub_topic,
        "cmd": lambda c: c,
        "command": lambda c: c,
    }
    if len(params) == 1 and annotation_is_command(params[0]):
        style: Callable[[Command], tuple[Any, ...]] = lambda c: (c,)  # noqa: E731
    elif names and all(n in pick for n in names):
        getters = [pick[n] for n in names]
        style = lambda c: tuple(g(c) for g in getters)  # noqa: E731
    elif len(params) == 1:
        style = lambda c: (c.payload,)  # noqa: E731
    elif len(params) == 2:
        style = lambda c: (c.sub_topic, c.payload)  # noqa: E731
    else:
        style = lambda c: ()  # noqa: E731
    _HANDLER_STYLE_CACHE[handler] = style
    return style


class DeviceCommands:
    """Routes ``{base}/set`` and ``{base}/<sub>/set`` to a ``@device``'s ``on_command`` handlers."""

    def __init__(
        self, *, ctx: DeviceContext, inbox: CommandInbox, reporting: DeviceReporting
    ) -> None:
        self._ctx = ctx
        self._inbox = inbox
        self._reporting = reporting
        self.queue: EntityQueue[tuple[Command, Exception | None]] = EntityQueue(
            self._handle, name=ctx.name
        )

    def submit(self, topic: str, payload: str, sub_topic: str | None) -> None:
        """Deliver a command to the device, or report that nothing handles it."""
        command = Command(topic=topic, payload=payload, sub_topic=sub_topic, timestamp=monotonic())
        if self._ctx.get_command_handler(sub_topic) is not None:
            self.queue.submit((command, None))
        elif self._ctx.wants_queued_commands and sub_topic is None:
            self._inbox.enqueue(command)
        else:
            where = f"sub-topic '{sub_topic}'" if sub_topic else "commands"
            problem = UnknownCommandError(f"device '{self._ctx.name}' has no handler for {where}")
            self.queue.submit((command, problem))

    def reset(self) -> None:
        """Forget the device's handlers before its handler is (re)started."""
        self._inbox.reset()

    async def _handle(self, item: tuple[Command, Exception | None]) -> None:
        command, problem = item
        if problem is not None:
            await self._reporting.bad_input(problem, topic=command.topic)
            return
        handler = self._ctx.get_command_handler(command.sub_topic)
        if handler is None:
            return
        try:
            await handler(*_handler_arguments(handler)(command))
        except Exception as exc:
            await self._reporting.error(exc, what=f"device '{self._ctx.name}' command handler")


def payload_params_for(reg: _CommandRegistration) -> tuple[tuple[Param, ...], tuple[str, ...]]:
    """Which parameters receive the payload (raw or parsed) and which the topic."""
    model = reg.payload_model
    payload: list[Param] = []
    topics: list[str] = []
    for p in reg.plan.params:
        if p.kind == "topic":
            topics.append(p.name)
        elif p.kind == "payload" or (
            p.kind == "inject" and model is not None and p.annotation is model
        ):
            payload.append(p)
    return tuple(payload), tuple(topics)
