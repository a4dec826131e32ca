"""FakeClock: time that moves only when a test says so."""

from __future__ import annotations

import asyncio
import datetime
import heapq
import itertools


class FakeClock:
    """A ClockPort whose sleeps finish only when :meth:`advance` moves time past them.

    Nothing polls: a sleeping task waits on a future, so an idle harness costs no CPU.
    """

    def __init__(self, start: float = 0.0, *, wall: datetime.datetime | None = None) -> None:
        self.__time = float(start)
        self._start = float(start)
        self._wall = wall if wall is not None else datetime.datetime.now().astimezone()
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._cancelled = 0

    @property
    def _time(self) -> float:
        """Current fake time in seconds (writable: setting it wakes due sleepers)."""
        return self.__time

    @_time.setter
    def _time(self, value: float) -> None:
        self.__time = float(value)
        self._wake_due()

    def now(self) -> float:
        """Current fake time."""
        return self.__time

    def wall_now(self) -> datetime.datetime:
        """Wall-clock time for cron schedules: *wall* (default: real now) plus fake time passed.

        Give ``FakeClock(wall=datetime(2026, 3, 2, 5, 59, tzinfo=...))`` to test a schedule.
        """
        passed = datetime.timedelta(seconds=self.__time - self._start)
        zone = self._wall.tzinfo
        if zone is None:
            return self._wall + passed
        # elapsed time is real time: add it in UTC, so a DST change shifts the wall clock
        return (self._wall.astimezone(datetime.UTC) + passed).astimezone(zone)

    async def sleep(self, seconds: float) -> None:
        """Wait until fake time has advanced by *seconds* (a zero sleep just yields)."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (self.__time + seconds, next(self._seq), future))
        try:
            await future
        finally:
            if not future.done():
                future.cancel()
            if future.cancelled():
                self._cancelled += 1
                if self._cancelled > 64 and self._cancelled * 2 > len(self._heap):
                    self._compact()

    def advance(self, seconds: float) -> None:
        """Move time forward by *seconds* and wake every sleep that is now due."""
        if seconds < 0:
            raise ValueError("FakeClock cannot go backwards")
        self.__time += seconds
        self._wake_due()

    def set(self, value: float) -> None:
        """Jump to an absolute time (not backwards)."""
        self.advance(max(0.0, value - self.__time))

    @property
    def pending(self) -> int:
        """Number of sleeps still waiting."""
        return sum(1 for _, _, f in self._heap if not f.done())

    def next_deadline(self) -> float | None:
        """When the earliest pending sleep is due, or None."""
        while self._heap and self._heap[0][2].done():
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def _compact(self) -> None:
        """Drop cancelled sleeps, so a long test that cancels many waits stays small."""
        self._heap = [item for item in self._heap if not item[2].done()]
        heapq.heapify(self._heap)
        self._cancelled = 0

    def _wake_due(self) -> None:
        heap = self._heap
        now = self.__time
        while heap and heap[0][0] <= now:
            _, _, future = heapq.heappop(heap)
            if not future.done():
                future.set_result(None)
