"""The restart supervisor: runs a device task and restarts it after a crash, with limits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from cosalette._clock import ClockPort

logger = logging.getLogger("cosalette.supervisor")


class TaskSupervisor:
    """Restarts a crashed task after a cooldown, up to ``max_restarts`` times.

    A run that lasted ``sustained_health_reset`` seconds before crashing resets the count.
    """

    def __init__(
        self,
        *,
        max_restarts: int,
        restart_cooldown: float,
        sustained_health_reset: float,
        clock: ClockPort,
        sleep: Callable[[float], Awaitable[None]],
        shutdown_event: asyncio.Event,
    ) -> None:
        self._max_restarts = max_restarts
        self._cooldown = restart_cooldown
        self._sustained = sustained_health_reset
        self._clock = clock
        self._sleep = sleep
        self._shutdown = shutdown_event
        self.restarts: dict[str, int] = {}

    async def supervise(
        self,
        name: str,
        start: Callable[[], Awaitable[None]],
        *,
        on_crash: Callable[[Exception], Awaitable[None]],
        on_give_up: Callable[[], Awaitable[None]],
    ) -> None:
        """Run ``start()`` until it returns, restarting it after crashes."""
        restarts = 0
        while True:
            started = self._clock.now()
            try:
                await start()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await on_crash(exc)
            if self._shutdown.is_set():
                return
            if self._clock.now() - started >= self._sustained:
                restarts = 0
            if restarts >= self._max_restarts:
                logger.critical("'%s' crashed %d times; it stays stopped", name, restarts + 1)
                await on_give_up()
                return
            restarts += 1
            self.restarts[name] = restarts
            logger.warning(
                "'%s' crashed; restart %d/%d in %.1f s",
                name,
                restarts,
                self._max_restarts,
                self._cooldown,
            )
            await self._sleep(self._cooldown)
            if self._shutdown.is_set():
                return
