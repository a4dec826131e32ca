"""Saying so while a new child is still importing: a save whose reload seems to hang (slow
work at module level, a blocking call at import) is announced after 2 s, then every 5 s."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["SLOW_AFTER", "SLOW_EVERY", "notice_while_waiting", "still_loading"]

SLOW_AFTER = 2.0  # seconds before the first notice
SLOW_EVERY = 5.0  # seconds between the next ones
T = TypeVar("T")


async def notice_while_waiting(
    task: asyncio.Future[T],
    notice: Callable[[float], None],
    *,
    first: float = SLOW_AFTER,
    every: float = SLOW_EVERY,
) -> T:
    """*task*'s result; ``notice(seconds waited)`` after *first* s and every *every* s after.

    Cancelling this cancels *task*.
    """
    started = time.monotonic()
    timeout = first
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=timeout)
            if done:
                return task.result()
            notice(time.monotonic() - started)
            timeout = every
    finally:
        task.cancel()


def still_loading(head: str, seconds: float, *, previous_runs: bool, first: bool) -> str:
    """The notice: ``reload #3 (devices/counter.py): still importing and wiring after 2 s``."""
    hint = " (slow work at module level? move it into a handler or an adapter)" if first else ""
    keep = "; the previous version keeps running" if previous_runs else ""
    return f"{head}: still importing and wiring after {seconds:.0f} s{hint}{keep}"
