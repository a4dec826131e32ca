"""Shared state and its reactors, as declared: ``@app.state`` factories, ``@app.react``.

A state factory makes one object per run that every handler can ask for by type; a reactor
runs when that object has domain events to hand out (see ``_wiring/reactions.py``).
"""

from __future__ import annotations

import collections.abc as abc
import contextlib
import inspect
import typing
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

from cosalette._di.plan import InjectionPlan, build_plan, callable_label, type_label
from cosalette._settings import Settings

__all__ = ["ReactorRegistration", "StateRegistration", "check_reactor", "check_state_factory"]

StateForm = Literal["value", "context", "async_context", "async_iterator"]

_SYNC_CONTEXTS = (contextlib.AbstractContextManager, abc.Iterator, abc.Generator)
_ASYNC_CONTEXTS = (contextlib.AbstractAsyncContextManager,)
_ASYNC_ITERATORS = (abc.AsyncIterator, abc.AsyncGenerator)


class StateRegistration(NamedTuple):
    """A shared-state factory: what it makes (``type``) and how (``form``)."""

    func: Callable[..., Any]
    type: type
    form: StateForm
    wants_settings: bool

    @property
    def label(self) -> str:
        """The factory for messages."""
        return f"state factory {callable_label(self.func)}"


class ReactorRegistration(NamedTuple):
    """A reactor: runs with the events drained from its state object."""

    state_type: type
    drain: Callable[[Any], Any] | None
    func: Callable[..., Any]
    plan: InjectionPlan

    @property
    def label(self) -> str:
        """The reactor for messages."""
        return f"reactor {callable_label(self.func)}"


def check_state_factory(func: Callable[..., Any], known: set[type]) -> StateRegistration:
    """Validate a factory at registration: its return type, its form, its one Settings param."""
    owner = f"@app.state factory {callable_label(func)}"
    try:
        hints = typing.get_type_hints(func)
    except Exception as exc:
        raise TypeError(f"{owner}: cannot read its annotations ({exc})") from None
    if "return" not in hints:
        raise TypeError(f"{owner}: annotate what it returns; the type is how handlers ask")
    state_type, form = _form_of(hints["return"], owner)
    if state_type in known:
        raise ValueError(f"{owner}: a factory for {type_label(state_type)} is already registered")
    params = list(inspect.signature(func).parameters.values())
    wants_settings = False
    if len(params) > 1:
        raise TypeError(f"{owner}: takes no parameters or one Settings parameter")
    if params:
        annotation = hints.get(params[0].name)
        if not (isinstance(annotation, type) and issubclass(annotation, Settings)):
            raise TypeError(
                f"{owner}: its parameter {params[0].name!r} must be annotated with Settings "
                f"or a subclass of it"
            )
        wants_settings = True
    return StateRegistration(func, state_type, form, wants_settings)


def _form_of(returns: Any, owner: str) -> tuple[type, StateForm]:
    origin = typing.get_origin(returns)
    args = typing.get_args(returns)
    form: StateForm = "value"
    if origin is not None:
        if origin in _ASYNC_CONTEXTS:
            form = "async_context"
        elif origin in _ASYNC_ITERATORS:
            form = "async_iterator"
        elif origin in _SYNC_CONTEXTS:
            form = "context"
        else:
            raise TypeError(f"{owner}: unsupported return annotation {returns!r}")
        returns = args[0] if args else None
    if not isinstance(returns, type):
        raise TypeError(f"{owner}: the state must be a class (got {returns!r})")
    return returns, form


def check_reactor(
    state_type: Any, drain: Any, func: Callable[..., Any], known: set[type]
) -> ReactorRegistration:
    """Validate a reactor at registration: a registered state type and an async function."""
    owner = f"@app.react reactor {callable_label(func)}"
    if state_type not in known:
        raise ValueError(
            f"{owner}: {type_label(state_type)} is not a registered @app.state type; register "
            f"its factory first"
        )
    if not inspect.iscoroutinefunction(func):
        raise TypeError(f"{owner}: must be an async function (async def)")
    if drain is not None and not callable(drain):
        raise TypeError(f"{owner}: drain= must be a callable of the state, got {drain!r}")
    plan = build_plan(func, by_name=frozenset({"events"}), owner=owner)
    return ReactorRegistration(state_type, drain, func, plan)
