"""Benchmark: items per second from a port callback through ``Stream[T]`` to a stream handler.

The framework path: an ``@app.stream`` handler that publishes nothing, fed by a fake
``StreamablePort[int]`` whose callback (the stream's thread-safe ``put``) is called with
``ITEMS`` items, either on the loop thread or from a thread of its own; timed from the first
put to the handler's last item. The floor, measured in the same run with the same item count:
a bare ``asyncio.Queue`` producer/consumer pair (``put_nowait`` on the loop thread, or
``loop.call_soon_threadsafe(queue.put_nowait, item)`` from another thread). Every round checks
that the consumer saw every item, in order. Reports; never asserts the target.
``COSALETTE_BENCH_SMOKE=1`` uses small counts.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _report.py sits beside this file
from _report import report

import cosalette
from cosalette import Stream, StreamablePort
from cosalette.testing import AppHarness

SMOKE = os.environ.get("COSALETTE_BENCH_SMOKE", "") not in ("", "0")
ITEMS = 2_000 if SMOKE else 200_000  # items per timed round
ROUNDS = 2 if SMOKE else 5  # rounds per subject, interleaved; the fastest round counts
TARGET_RATIO = 0.5
TARGET = f">={TARGET_RATIO}x bare asyncio.Queue"


class Port:
    """A fake port: the test pushes items through the callback the runtime registers."""

    def __init__(self) -> None:
        self.callback: Callable[[int], None] | None = None

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def start_scan(self) -> None: ...

    async def stop_scan(self) -> None: ...

    def register_callback(self, cb: Callable[[int], None]) -> None:
        self.callback = cb


class Sink:
    """What the handler saw in the current round; *done* is set at the last item."""

    def __init__(self) -> None:
        self.expected = 0
        self.count = 0
        self.in_order = True
        self.done = asyncio.Event()

    def reset(self, expected: int) -> None:
        self.expected, self.count, self.in_order = expected, 0, True
        self.done = asyncio.Event()


def _produce(put: Callable[[int], None], items: int, threaded: bool) -> threading.Thread | None:
    """Call *put* with 0..items-1, here or from a new thread (returned, already started)."""

    def run() -> None:
        for i in range(items):
            put(i)

    if not threaded:
        run()
        return None
    thread = threading.Thread(target=run)
    thread.start()
    return thread


async def _framework_round(port: Port, sink: Sink, items: int, threaded: bool) -> float:
    """Items per second from the port's callback to the handler."""
    assert port.callback is not None
    sink.reset(items)
    start = time.perf_counter_ns()
    thread = _produce(port.callback, items, threaded)
    await sink.done.wait()
    elapsed = time.perf_counter_ns() - start
    if thread is not None:
        thread.join()
    assert sink.count == items and sink.in_order, f"framework saw {sink.count} of {items}"
    return items / (elapsed / 1e9)


async def _floor_round(items: int, threaded: bool) -> float:
    """Items per second through a bare asyncio.Queue producer/consumer pair."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    async def consume() -> int:
        count = 0
        in_order = True
        while count < items:
            item = await queue.get()
            in_order = in_order and item == count
            count += 1
        assert in_order
        return count

    consumer = asyncio.ensure_future(consume())
    await asyncio.sleep(0)  # the consumer waits, as the stream handler does
    put: Callable[[int], None] = queue.put_nowait
    if threaded:

        def put(item: int, _put: Callable[[int], None] = queue.put_nowait) -> None:
            loop.call_soon_threadsafe(_put, item)

    start = time.perf_counter_ns()
    thread = _produce(put, items, threaded)
    count = await consumer
    elapsed = time.perf_counter_ns() - start
    if thread is not None:
        thread.join()
    assert count == items
    return items / (elapsed / 1e9)


async def measure() -> dict[str, tuple[float, float]]:
    """Best (framework, floor) items/s per producer kind: ``loop`` and ``thread``."""
    port, sink = Port(), Sink()
    app = cosalette.App("bench", heartbeat_interval=None, health_check_interval=None, store=None)
    app.adapter(StreamablePort[int], lambda: port)

    @app.stream("items")
    async def items(readings: Stream[int]) -> AsyncIterator[None]:
        async for item in readings:
            sink.in_order = sink.in_order and item == sink.count
            sink.count += 1
            if sink.count == sink.expected:
                sink.done.set()
            yield

    best = {kind: [0.0, 0.0] for kind in ("loop", "thread")}
    async with AppHarness(app=app):
        for threaded in (False, True):
            await _framework_round(port, sink, 100, threaded)  # warm-up
        for round_no in range(ROUNDS):
            for kind, threaded in (("loop", False), ("thread", True)):
                subjects: list[tuple[int, Callable[[], asyncio.Future[float]]]] = [
                    (
                        0,
                        lambda t=threaded: asyncio.ensure_future(  # type: ignore[misc]
                            _framework_round(port, sink, ITEMS, t)
                        ),
                    ),
                    (1, lambda t=threaded: asyncio.ensure_future(_floor_round(ITEMS, t))),  # type: ignore[misc]
                ]
                for index, start in subjects if round_no % 2 == 0 else subjects[::-1]:
                    best[kind][index] = max(best[kind][index], await start())
    return {kind: (rates[0], rates[1]) for kind, rates in best.items()}


@pytest.mark.bench
def test_bench_streams() -> None:
    results = asyncio.run(measure())
    print(f"streams: {ITEMS} items x {ROUNDS} rounds, handler publishes nothing", flush=True)
    for kind, (framework, floor) in results.items():
        floor_name = f"asyncio.Queue ({kind})"
        report(
            f"queue floor, put from {kind}",
            floor / 1000,
            "k item/s",
            floor_name,
            floor / 1000,
            "1.00x (floor)",
        )
        report(
            f"Stream, put from {kind}",
            framework / 1000,
            "k item/s",
            floor_name,
            floor / 1000,
            TARGET,
        )
        ratio = framework / floor if floor > 0 else 0.0
        met = "met" if ratio >= TARGET_RATIO else "MISSED"
        print(f"streams ({kind}): {ratio:.2f}x the bare queue, target {TARGET}: {met}", flush=True)


if __name__ == "__main__":
    test_bench_streams()
