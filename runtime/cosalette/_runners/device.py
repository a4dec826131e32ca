"""Running a ``@device`` handler: a coroutine that owns its loop, or an async generator."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from cosalette._context import DeviceContext


async def run_device(
    func: Callable[..., Any], kwargs: Mapping[str, object], ctx: DeviceContext
) -> None:
    """Run a device coroutine, or drive an async generator one unit of work per ``yield``."""
    result = func(**kwargs)
    if inspect.isasyncgen(result):
        try:
            async for _ in result:
                if ctx.shutdown_requested:
                    break
        finally:
            await result.aclose()
    else:
        await result
