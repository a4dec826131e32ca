"""A thread-safe Stream put on its loop's own thread is enqueued at once (the hot path)."""

from __future__ import annotations

import asyncio

import pytest

from cosalette import Stream


def test_a_put_on_the_loop_thread_is_queued_at_once_and_raises_when_full() -> None:
    async def main() -> None:
        stream: Stream[int] = Stream(maxsize=2, backpressure="raise", thread_safe=True)
        stream.put(1)
        stream.put(2)
        assert stream.qsize() == 2  # no loop turn needed: no call_soon_threadsafe
        with pytest.raises(asyncio.QueueFull):
            stream.put(3)  # raised to the caller, not logged from a loop callback

    asyncio.run(main())


def test_loop_thread_and_other_thread_puts_both_arrive() -> None:
    async def main() -> list[int]:
        stream: Stream[int] = Stream(thread_safe=True)
        stream.put(1)
        await asyncio.to_thread(stream.put, 2)
        stream.put(3)
        return [await anext(stream) for _ in range(3)]

    assert sorted(asyncio.run(main())) == [1, 2, 3]
