"""Running a ``@device`` handler: a coroutine that owns its loop, or an async generator."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from cosalette._context import DeviceContext

if TYPE_CHECKING:
    from cosalette._wiring.reactions import BoundReactors


async def run_device(
    func: Callable[..., Any],
    kwargs: Mapping[str, object],
    ctx: DeviceContext,
    reactors: BoundReactors | None = None,
) -> None:
    """Run a device coroutine, or drive an async generator one unit of work per ``yield``.

    Reactors run after each ``yield`` and once when the handler completes normally.
    """
    result = func(**kwargs)
    if inspect.isasyncgen(result):
        try:
            async for _ in result:
                if reactors:
                    await reactors.dispatch()
                if ctx.shutdown_requested:
                    break
        finally:
            await result.aclose()
    else:
        await result
    if reactors:
        await reactors.dispatch()
