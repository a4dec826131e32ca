"""The periodic loop (ADR-041): sleep first, call, log and continue on errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from cosalette._persistence import DeviceStore
from cosalette._runners.cycle import save_quietly

logger = logging.getLogger("cosalette.periodic")


class PeriodicRunner:
    """Runs one periodic task until shutdown."""

    def __init__(
        self,
        *,
        name: str,
        func: Callable[..., Any],
        kwargs: dict[str, object],
        interval: float,
        sleep: Callable[[float], Awaitable[None]],
        shutdown_event: asyncio.Event,
        store: DeviceStore | None = None,
    ) -> None:
        self.name = name
        self._func = func
        self._kwargs = kwargs  # shared with the wiring, so a restarted adapter is re-bound
        self._interval = interval
        self._sleep = sleep
        self._shutdown = shutdown_event
        self._store = store

    async def tick(self) -> None:
        """Run the handler once; errors are logged with their traceback, never raised."""
        try:
            await self._func(**self._kwargs)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("Periodic task '%s' failed; it runs again next interval", self.name)
        if self._store is not None and self._store.dirty:
            save_quietly(self._store, f"periodic '{self.name}'")

    async def run(self) -> None:
        """Sleep, then tick, until shutdown."""
        while not self._shutdown.is_set():
            await self._sleep(self._interval)
            if self._shutdown.is_set():
                return
            await self.tick()
