"""Coalescing groups: telemetry that shares a bus runs one handler after another, never at once.

One task per group. Member *i* is due at ``epoch + k·interval_i`` (in whole milliseconds, so
intervals that divide each other meet exactly); all are due at the start. Members due at the
same instant run in registration order, each through its own cycle (its strategy, retries,
breaker, store) and publishing its own state. The grid is fixed-rate: a batch that overran
is caught up back to back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from cosalette._clock import ClockPort
from cosalette._context import DeviceContext
from cosalette._runners.cycle import TelemetryCycle

__all__ = ["GroupRunner"]


class GroupRunner:
    """Runs the cycles of one coalescing group on their shared grid until shutdown."""

    def __init__(
        self, name: str, *, clock: ClockPort, sleep: Callable[[float], Awaitable[None]]
    ) -> None:
        self.name = name
        self._clock = clock
        self._sleep = sleep
        self._cycles: list[TelemetryCycle] = []
        self._steps: list[int] = []  # milliseconds
        self._contexts: list[DeviceContext] = []

    @property
    def members(self) -> list[str]:
        """The devices of the group, in registration order."""
        return [ctx.name for ctx in self._contexts]

    def add(self, cycle: TelemetryCycle, interval: float, ctx: DeviceContext) -> None:
        """Add a member that runs every *interval* seconds."""
        self._cycles.append(cycle)
        self._steps.append(max(1, round(interval * 1000)))
        self._contexts.append(ctx)

    def _stopping(self) -> bool:
        return self._contexts[0].shutdown_requested

    async def run(self) -> None:
        """Run every due member, in order, then sleep until the next one is due."""
        epoch = self._clock.now()
        due = [0] * len(self._cycles)
        while not self._stopping():
            batch = min(due)
            elapsed_ms = (self._clock.now() - epoch) * 1000
            if batch > round(elapsed_ms, 3):  # rounded: a float clock lands on its deadline
                await self._sleep((batch - elapsed_ms) / 1000)
                continue
            for i, cycle in enumerate(self._cycles):
                if due[i] == batch and not self._stopping():
                    await cycle.run()
                    due[i] += self._steps[i]
            await asyncio.sleep(0)  # one yield per batch
