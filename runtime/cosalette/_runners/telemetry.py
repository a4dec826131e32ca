"""The telemetry loop: a cycle now, then wait for the next one (interval, cron or a trigger).

The first cycle runs at start. Interval telemetry then waits one interval after each cycle
ends; cron telemetry waits for the schedule's next fire time on the app's clock and time zone.
A triggerable device's ``/set`` ends the wait at once; triggers that arrive while a cycle runs
coalesce into one re-run with the latest payload (one pending slot, never a queue).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING

from cosalette._clock import ClockPort
from cosalette._context import DeviceContext
from cosalette._runners.cycle import TelemetryCycle
from cosalette._trigger import TriggerPayload

if TYPE_CHECKING:
    from cosalette._cron import CronSchedule

__all__ = ["TelemetryRunner", "TriggerSlot", "wall_now"]

logger = logging.getLogger("cosalette")


def wall_now(clock: ClockPort) -> dt.datetime:
    """Wall time by *clock*: its ``wall_now()`` when it has one (FakeClock), else local now."""
    wall = getattr(clock, "wall_now", None)
    if callable(wall):
        value = wall()
        if isinstance(value, dt.datetime):
            return value
    return dt.datetime.now()


class TriggerSlot:
    """One pending trigger per device: a newer payload replaces the waiting one."""

    def __init__(self) -> None:
        self._payload: str | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put(self, payload: str) -> None:
        """Remember *payload* (the latest wins) and wake the device's wait."""
        self._payload = payload
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def take(self) -> TriggerPayload | None:
        """The waiting trigger, if any, emptying the slot."""
        if self._payload is None:
            return None
        payload, self._payload = self._payload, None
        return TriggerPayload.from_mqtt(payload)

    def waiter(self) -> asyncio.Future[None]:
        """A future resolved by the next trigger (at once when one is waiting)."""
        waiter = asyncio.get_running_loop().create_future()
        if self._payload is not None:
            waiter.set_result(None)
        self._waiter = waiter
        return waiter


class TelemetryRunner:
    """Runs one telemetry device until shutdown."""

    def __init__(
        self,
        *,
        cycle: TelemetryCycle,
        ctx: DeviceContext,
        interval: float,
        schedule: CronSchedule | None = None,
        triggers: TriggerSlot | None = None,
    ) -> None:
        self.cycle = cycle
        self._ctx = ctx
        self._interval = interval
        self._schedule = schedule
        self._triggers = triggers
        self.cycles = 0

    async def run(self) -> None:
        """Cycle, wait, repeat until shutdown."""
        ctx, cycle, triggers = self._ctx, self.cycle, self._triggers
        if triggers is None and self._schedule is None:  # the common case, kept lean
            run, sleep, interval = cycle.run, ctx.sleep, self._interval
            while not ctx.shutdown_requested:
                self.cycles += 1
                await run()
                await sleep(interval)
            return
        while not ctx.shutdown_requested:
            self.cycles += 1
            await cycle.run(triggers.take() if triggers is not None else None)
            if ctx.shutdown_requested:
                return
            await self._wait(self._delay())

    def _delay(self) -> float:
        if self._schedule is None:
            return self._interval
        now = wall_now(self._ctx.clock)
        # .timestamp() of a naive local time applies the system's DST rules, so a 06:00 job
        # still fires at 06:00 on the day the clocks change.
        return max(0.0, self._schedule.next_fire_after(now).timestamp() - now.timestamp())

    async def _wait(self, seconds: float) -> None:
        """Sleep *seconds* (shutdown-aware); a trigger ends the sleep at once."""
        triggers = self._triggers
        if triggers is None:
            await self._ctx.sleep(seconds)
            return
        woken = triggers.waiter()  # one future: a trigger or the end of the sleep resolves it
        sleeping = asyncio.ensure_future(self._ctx.sleep(seconds))
        sleeping.add_done_callback(lambda _: _resolve(woken))
        try:
            await woken
        finally:
            if not sleeping.done():
                sleeping.cancel()  # a trigger came first; the sleep is dropped, not awaited


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
