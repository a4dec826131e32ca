"""Run a coroutine's first step inline, and pay for asyncio machinery only if it suspends.

Most command handlers finish without ever awaiting anything slow. Stepping the coroutine by
hand lets the runtime skip a per-command timer (``asyncio.timeout``) in that common case; a
handler that does suspend is resumed under the timeout exactly where it stopped, so a timeout
can still fire at any of its awaits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any

from cosalette._clock import ClockPort, SystemClock


class _Resume:
    """An awaitable that drives an already-started coroutine to completion."""

    __slots__ = ("_coro", "_pending")

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self._coro = coro
        self._pending = pending

    def __await__(self) -> Generator[Any, None, Any]:
        coro, pending = self._coro, self._pending
        while True:
            try:
                yield pending
            except BaseException as exc:  # cancellation or a timeout: deliver it to the handler
                try:
                    pending = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
                continue
            try:
                pending = coro.send(None)
            except StopIteration as stop:
                return stop.value


async def run_with_timeout(
    coro: Coroutine[Any, Any, Any], limit: float | None, clock: ClockPort | None = None
) -> Any:
    """Await *coro*; a timer is armed only if the first step suspends.

    The timer runs on *clock* when it is not the system clock, so a test's FakeClock decides
    when a handler times out.
    """
    if limit is None:
        return await coro
    try:
        pending = coro.send(None)
    except StopIteration as stop:
        return stop.value
    except BaseException:
        coro.close()
        raise
    if clock is None or isinstance(clock, SystemClock):
        async with asyncio.timeout(limit):
            return await _Resume(coro, pending)
    return await _on_clock(_Resume(coro, pending), limit, clock)


async def _on_clock(work: _Resume, limit: float, clock: ClockPort) -> Any:
    """Cancel the current task when *clock* has advanced *limit* seconds; raise TimeoutError."""
    task = asyncio.current_task()
    assert task is not None
    fired = False

    def expire(timer: asyncio.Future[None]) -> None:
        nonlocal fired
        if not timer.cancelled() and timer.exception() is None:
            fired = True
            task.cancel()

    timer = asyncio.ensure_future(clock.sleep(limit))
    timer.add_done_callback(expire)
    try:
        return await work
    except asyncio.CancelledError:
        if fired and task.uncancel() == 0:
            raise TimeoutError(f"handler did not finish within {limit:g} s") from None
        raise
    finally:
        timer.remove_done_callback(expire)
        timer.cancel()
