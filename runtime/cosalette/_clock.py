"""Time as a port, so tests can drive time without sleeping."""

from __future__ import annotations

import asyncio
import datetime
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class ClockPort(Protocol):
    """Monotonic clock used for every timing decision in the runtime."""

    def now(self) -> float:
        """Return monotonic time in seconds (only differences are meaningful)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep for *seconds* of this clock's time."""
        ...


class SystemClock:
    """Production clock: ``time.monotonic`` and ``asyncio.sleep``."""

    def now(self) -> float:
        """Return monotonic time in seconds."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Sleep for *seconds* using ``asyncio.sleep``."""
        await asyncio.sleep(seconds)

    def wall_now(self) -> datetime.datetime:
        """Local wall-clock time, naive: cron schedules fire by it, DST rules included."""
        return datetime.datetime.now()
