"""Stream: sync put() from callbacks, async for in handlers, backpressure and shutdown."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from cosalette import Stream, StreamablePort


async def collect(stream: Stream[int], count: int) -> list[int]:
    out: list[int] = []
    async for item in stream:
        out.append(item)
        if len(out) == count:
            break
    return out


def test_items_come_out_in_order() -> None:
    async def main() -> list[int]:
        stream: Stream[int] = Stream()
        for i in range(5):
            stream.put(i)
        return await collect(stream, 5)

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]


def test_waiting_consumer_wakes_on_put() -> None:
    async def main() -> list[int]:
        stream: Stream[int] = Stream()
        consumer = asyncio.create_task(collect(stream, 2))
        await asyncio.sleep(0)  # let the consumer start waiting
        stream.put(1)
        stream.put(2)
        return await consumer

    assert asyncio.run(main()) == [1, 2]


def test_shutdown_stops_a_waiting_consumer() -> None:
    async def main() -> list[int]:
        stream: Stream[int] = Stream()
        consumer = asyncio.create_task(collect(stream, 10))
        await asyncio.sleep(0)
        stream.put(1)
        await asyncio.sleep(0)
        stream.shutdown()
        return await consumer

    assert asyncio.run(main()) == [1]


def test_shutdown_is_immediate_and_discards_queued_items() -> None:
    async def main() -> list[int]:
        stream: Stream[int] = Stream()
        for i in range(3):
            stream.put(i)
        stream.shutdown()
        stream.put(99)
        return [item async for item in stream]

    assert asyncio.run(main()) == []


def test_shutdown_is_idempotent_and_wakes_every_consumer() -> None:
    async def main() -> list[list[int]]:
        stream: Stream[int] = Stream()
        consumers = [asyncio.create_task(collect(stream, 5)) for _ in range(3)]
        await asyncio.sleep(0)
        stream.shutdown()
        stream.shutdown()
        return await asyncio.gather(*consumers)

    assert asyncio.run(main()) == [[], [], []]


def test_bounded_stream_raises_when_full_by_default() -> None:
    async def main() -> list[int]:
        stream: Stream[int] = Stream(maxsize=2)
        stream.put(1)
        stream.put(2)
        with pytest.raises(asyncio.QueueFull):
            stream.put(3)
        return await collect(stream, 2)

    assert asyncio.run(main()) == [1, 2]


def test_drop_newest_keeps_the_first_items() -> None:
    async def main() -> list[int]:
        stream: Stream[int] = Stream(maxsize=2, backpressure="drop_newest")
        for i in range(5):
            stream.put(i)
        return await collect(stream, 2)

    assert asyncio.run(main()) == [0, 1]


def test_drop_oldest_keeps_the_latest_items() -> None:
    async def main() -> list[int]:
        stream: Stream[int] = Stream(maxsize=2, backpressure="drop_oldest")
        for i in range(5):
            stream.put(i)
        return await collect(stream, 2)

    assert asyncio.run(main()) == [3, 4]


def test_unbounded_stream_ignores_the_policy() -> None:
    async def main() -> list[int]:
        stream: Stream[int] = Stream(backpressure="drop_newest")
        for i in range(1000):
            stream.put(i)
        return await collect(stream, 1000)

    assert asyncio.run(main()) == list(range(1000))


def test_thread_safe_put_from_other_threads() -> None:
    async def main() -> list[int]:
        stream: Stream[int] = Stream(thread_safe=True)

        def produce(start: int) -> None:
            for i in range(start, start + 100):
                stream.put(i)

        threads = [threading.Thread(target=produce, args=(n * 100,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            await asyncio.to_thread(thread.join)
        return await collect(stream, 300)

    assert sorted(asyncio.run(main())) == list(range(300))


def test_thread_safe_shutdown_from_another_thread() -> None:
    async def main() -> list[int]:
        stream: Stream[int] = Stream(thread_safe=True)
        consumer = asyncio.create_task(collect(stream, 10))
        await asyncio.to_thread(stream.put, 7)
        await asyncio.to_thread(stream.shutdown)
        return await consumer

    assert asyncio.run(main()) == [7]


def test_thread_safe_needs_a_running_loop() -> None:
    with pytest.raises(RuntimeError, match="running event loop"):
        Stream(thread_safe=True)


@pytest.mark.parametrize("kwargs", [{"maxsize": -1}, {"maxsize": 1.5}, {"backpressure": "block"}])
def test_invalid_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Stream(**kwargs)  # type: ignore[arg-type]


def test_cancelled_consumer_does_not_swallow_items() -> None:
    async def main() -> list[int]:
        stream: Stream[int] = Stream()
        doomed = asyncio.create_task(collect(stream, 1))
        await asyncio.sleep(0)
        doomed.cancel()
        stream.put(5)
        with pytest.raises(asyncio.CancelledError):
            await doomed
        return await collect(stream, 1)

    assert asyncio.run(main()) == [5]


class FakeScanner:
    """A callback-driven port like a BLE scanner, used through the StreamablePort contract."""

    def __init__(self) -> None:
        self.callbacks: list[Callable[[int], None]] = []
        self.log: list[str] = []

    async def open(self) -> None:
        self.log.append("open")

    async def close(self) -> None:
        self.log.append("close")

    async def start_scan(self) -> None:
        self.log.append("start")
        for value in (10, 20, 30):
            for cb in self.callbacks:
                cb(value)

    async def stop_scan(self) -> None:
        self.log.append("stop")

    def register_callback(self, cb: Callable[[int], None]) -> None:
        self.callbacks.append(cb)


def test_port_lifecycle_feeds_a_stream() -> None:
    async def main(port: StreamablePort[int]) -> list[int]:
        stream: Stream[int] = Stream()
        await port.open()
        port.register_callback(stream.put)
        await port.start_scan()
        items = await collect(stream, 3)
        await port.stop_scan()
        await port.close()
        stream.shutdown()
        return items

    scanner = FakeScanner()
    assert isinstance(scanner, StreamablePort)
    assert asyncio.run(main(scanner)) == [10, 20, 30]
    assert scanner.log == ["open", "start", "stop", "close"]
