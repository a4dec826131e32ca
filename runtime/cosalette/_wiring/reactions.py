"""Shared state at run time: the objects ``@app.state`` factories make, and their reactors.

State objects are made before the adapters and torn down, in reverse order, after the
lifespan. At a handler's boundary (a successful telemetry cycle or command, a device's
``yield``) each (state, drain) group is drained once; a non-empty list of events goes to every
reactor of the group, bound with the handler's own providers (its context, its store).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Mapping
from typing import Any

from cosalette._app.shared_state import ReactorRegistration, StateRegistration
from cosalette._di.plan import bind
from cosalette._settings import Settings

__all__ = ["BoundReactors", "make_state"]

MAX_EVENTS = 100_000


async def make_state(
    factories: tuple[StateRegistration, ...],
    settings: Settings,
    stack: contextlib.AsyncExitStack,
    overrides: Mapping[type, object],
) -> dict[type, object]:
    """Call every factory in order (an override replaces one); teardowns go on *stack*."""
    made: dict[type, object] = {}
    for factory in factories:
        if factory.type in overrides:
            made[factory.type] = overrides[factory.type]
            continue
        result = factory.func(settings) if factory.wants_settings else factory.func()
        if inspect.isawaitable(result) and factory.form == "value":
            result = await result
        made[factory.type] = await _enter(factory, result, stack)
    return made


async def _enter(factory: StateRegistration, result: Any, stack: contextlib.AsyncExitStack) -> Any:
    if isinstance(result, contextlib.AbstractAsyncContextManager):
        return await stack.enter_async_context(result)
    if inspect.isasyncgen(result):
        value = await anext(result)
        stack.push_async_callback(result.aclose)
        return value
    if isinstance(result, contextlib.AbstractContextManager):
        return stack.enter_context(result)
    if factory.form != "value":
        raise TypeError(
            f"{factory.label}: is annotated as a context manager or iterator but returned "
            f"{type(result).__name__!r}; decorate it with @contextmanager/@asynccontextmanager"
        )
    return result


class BoundReactors:
    """The reactors one handler's boundary runs, bound once to that handler's providers."""

    def __init__(
        self,
        reactors: tuple[ReactorRegistration, ...],
        state: Mapping[type, object],
        providers: Mapping[Any, object],
        *,
        owner: str,
    ) -> None:
        groups: dict[tuple[type, int], list[tuple[ReactorRegistration, dict[str, object]]]] = {}
        for reactor in reactors:
            key = (reactor.state_type, id(reactor.drain))
            kwargs = bind(reactor.plan, providers, owner=f"{reactor.label} (at {owner})")
            groups.setdefault(key, []).append((reactor, kwargs))
        self._groups = [
            (state[state_type], members[0][0].drain, members)
            for (state_type, _), members in groups.items()
        ]

    def __bool__(self) -> bool:
        return bool(self._groups)

    async def dispatch(self) -> None:
        """Drain each group once; give non-empty events to its reactors, in order."""
        for state, drain, members in self._groups:
            events = drain(state) if drain is not None else state.drain_events()  # type: ignore[attr-defined]
            if inspect.isawaitable(events):
                events = await events
            if not events:
                continue
            listed = _as_list(events)
            for reactor, kwargs in members:
                if reactor.plan.wants("events") is not None:
                    await reactor.func(**kwargs, events=listed)
                else:
                    await reactor.func(**kwargs)


def _as_list(events: Any) -> list[Any]:
    if isinstance(events, str | bytes):
        raise TypeError("a drain returned text, not a collection of events")
    listed = list(events)
    if len(listed) > MAX_EVENTS:
        raise ValueError(f"a drain returned {len(listed)} events (at most {MAX_EVENTS})")
    return listed
