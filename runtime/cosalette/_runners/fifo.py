"""A per-entity FIFO: messages for one device are handled one at a time, in order.

When the entity is idle a message starts a task at once (eagerly on Python 3.12+, so a
handler that never suspends finishes without a trip through the event loop); while it
is busy, messages queue behind it and the same task drains them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

M = TypeVar("M")

logger = logging.getLogger(__name__)

_EAGER = sys.version_info >= (3, 12)


class EntityQueue(Generic[M]):
    """Serialises calls of *handle* for one entity; never blocks the submitter."""

    def __init__(self, handle: Callable[[M], Awaitable[None]], *, name: str) -> None:
        self._handle = handle
        self._name = name
        self._pending: deque[M] = deque()
        self._task: asyncio.Task[None] | None = None
        self._busy = False
        self._idle: asyncio.Event | None = None

    @property
    def busy(self) -> bool:
        """Whether a message is being handled."""
        return self._busy

    def submit(self, message: M) -> None:
        """Queue *message*; start draining if the entity is idle."""
        if self._busy:
            self._pending.append(message)
            return
        self._busy = True
        loop = asyncio.get_running_loop()
        coro = self._drain(message)
        if _EAGER:
            task: asyncio.Task[None] = asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg]
        else:
            task = loop.create_task(coro)
        if not task.done():
            self._task = task

    async def _drain(self, first: M) -> None:
        message: M | None = first
        try:
            while message is not None:
                try:
                    await self._handle(message)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("Unhandled error while handling a message for %s", self._name)
                message = self._pending.popleft() if self._pending else None
        finally:
            self._busy = False
            self._task = None
            if self._idle is not None:
                self._idle.set()

    async def join(self) -> None:
        """Wait until every submitted message has been handled."""
        while self._busy:
            self._idle = asyncio.Event()
            await self._idle.wait()

    async def cancel(self) -> None:
        """Drop queued messages and cancel the one in progress."""
        self._pending.clear()
        task = self._task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
