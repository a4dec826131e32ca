"""Validating a stream handler at registration: one ``Stream[T]`` parameter, no port."""

from __future__ import annotations

import inspect
import typing
from typing import Any

from cosalette._di.plan import InjectionPlan

__all__ = ["BACKPRESSURE", "check_stream"]

BACKPRESSURE = ("drop_newest", "drop_oldest", "raise")


def check_stream(
    func: Any, plan: InjectionPlan, *, maxsize: Any, backpressure: Any, owner: str
) -> tuple[Any, str]:
    """``(item type, parameter name)`` of the handler's ``Stream[T]``; errors name *owner*."""
    from cosalette._streams import Stream, StreamablePort

    if not (inspect.isasyncgenfunction(func) or inspect.iscoroutinefunction(func)):
        raise TypeError(f"{owner}: a stream handler is an async generator (yield per item)")
    if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 0:
        raise ValueError(f"{owner}: maxsize= must be an int >= 0 (0: unbounded), got {maxsize!r}")
    if backpressure not in BACKPRESSURE:
        raise ValueError(f"{owner}: backpressure= must be one of {', '.join(BACKPRESSURE)}")
    streams: list[tuple[Any, str]] = []
    for param in plan.injected():
        origin = typing.get_origin(param.annotation)
        if origin is StreamablePort or param.annotation is StreamablePort:
            raise TypeError(
                f"{owner}: parameter '{param.name}': the port belongs to the framework; take "
                f"the Stream[T] it feeds instead"
            )
        if origin is Stream or param.annotation is Stream:
            args = typing.get_args(param.annotation)
            if len(args) != 1:
                raise TypeError(f"{owner}: parameter '{param.name}' must be Stream[ItemType]")
            streams.append((args[0], param.name))
    if len(streams) != 1:
        raise TypeError(f"{owner}: must declare exactly one Stream[T] parameter")
    return streams[0]
