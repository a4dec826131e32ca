"""A FakeClock whose sleeps are cancelled (e.g. ``commands(timeout=)``) does not grow."""

from __future__ import annotations

import asyncio

from cosalette.testing import FakeClock


async def test_cancelled_sleeps_do_not_accumulate() -> None:
    clock = FakeClock()
    for _ in range(2000):
        task = asyncio.ensure_future(clock.sleep(60))
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert clock.pending == 0
    assert len(clock._heap) <= 130
