"""Shutdown-aware sleeping without a helper task per sleep.

A sleeping handler task is registered here; when shutdown is signalled the registry
cancels exactly those sleeps, and :func:`interruptible_sleep` turns that cancellation
back into a normal return.  This keeps a telemetry cycle to one await on the clock.
"""

from __future__ import annotations

import asyncio
import contextlib

from cosalette._clock import ClockPort

_WAKE = "cosalette-shutdown-wake"


class SleepRegistry:
    """Tracks tasks sleeping in :func:`interruptible_sleep` for one shutdown event."""

    def __init__(self, shutdown_event: asyncio.Event) -> None:
        self.event = shutdown_event
        self._sleepers: set[asyncio.Task[object]] = set()
        self._woken: set[asyncio.Task[object]] = set()
        self._watcher: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start watching the event (needs a running loop)."""
        if self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        """Stop the watcher task."""
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None

    @property
    def active(self) -> bool:
        """Whether a watcher is running, so sleeps can take the fast path."""
        return self._watcher is not None and not self._watcher.done()

    async def _watch(self) -> None:
        await self.event.wait()
        self.wake_all()

    def wake_all(self) -> None:
        """Interrupt every registered sleep."""
        for task in list(self._sleepers):
            if task not in self._woken:
                self._woken.add(task)
                task.cancel(_WAKE)

    async def sleep(self, clock: ClockPort, seconds: float) -> None:
        """Sleep on *clock*; return early and quietly when shutdown is signalled."""
        task: asyncio.Task[object] | None = asyncio.current_task()
        if task is None or not self.active:
            await _racing_sleep(clock, seconds, self.event)
            return
        self._sleepers.add(task)
        try:
            await clock.sleep(seconds)
        except asyncio.CancelledError:
            if task in self._woken:
                self._woken.discard(task)
                task.uncancel()
                return
            raise
        finally:
            self._sleepers.discard(task)
        if task in self._woken:  # woken after the sleep had already completed
            self._woken.discard(task)
            task.uncancel()


async def _racing_sleep(clock: ClockPort, seconds: float, event: asyncio.Event) -> None:
    """Slow path for contexts built outside the runtime: race the sleep against the event."""
    if event.is_set():
        return
    sleeper = asyncio.ensure_future(clock.sleep(seconds))
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for fut in (sleeper, waiter):
            if not fut.done():
                fut.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await fut


async def interruptible_sleep(
    clock: ClockPort,
    seconds: float,
    event: asyncio.Event,
    registry: SleepRegistry | None,
) -> None:
    """Sleep for *seconds* unless *event* is (or becomes) set."""
    if event.is_set():
        return
    if registry is not None:
        await registry.sleep(clock, seconds)
    else:
        await _racing_sleep(clock, seconds, event)
