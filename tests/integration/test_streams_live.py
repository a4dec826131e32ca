"""Streams in a real app process against a real mosquitto: a port calling back at ~10k items/s.

Two fake ports each emit 10 000 items from their own thread over about a second. ``fast`` is
unbounded and its handler keeps up: every 100th item is published, in order, and nothing is
dropped. ``slow`` holds 50 items (``drop_oldest``) and its handler takes about a millisecond
per item: the heartbeat reports drops, and delivered plus dropped equals emitted, with the
queue never above its bound. SIGTERM stops and closes both ports and the process exits 0.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

from _apps import finish, purge_retained, start_app
from _broker import Collector, MosquittoBroker

ITEMS = 10_000
MAXSIZE = 50

APP = f"""
import asyncio
import json
import threading
import time

import cosalette
from cosalette import DeviceContext, Stream, StreamablePort

ITEMS = {ITEMS}
RATE = 10_000.0


class Slow(int):
    '''An item of the slow stream (its own type, so its own port).'''


class Port:
    '''A fake hardware port: a thread calls back with 0..ITEMS-1 at about RATE items/s.'''

    def __init__(self, name, make):
        self.name, self.make, self.callback = name, make, None
        self.stop = threading.Event()
        self.thread = None

    async def open(self):
        pass

    def register_callback(self, cb):
        self.callback = cb

    async def start_scan(self):
        self.thread = threading.Thread(target=self.emit, daemon=True)
        self.thread.start()

    def emit(self):
        start = time.perf_counter()
        for i in range(ITEMS):
            if self.stop.is_set():
                break
            self.callback(self.make(i))
            if i % 100 == 99:  # pace the hardware: ~RATE items/s
                delay = start + (i + 1) / RATE - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
        print(f"port {{self.name}} emitted {{i + 1}}", flush=True)

    async def stop_scan(self):
        self.stop.set()
        if self.thread is not None:
            await asyncio.to_thread(self.thread.join)

    async def close(self):
        print(f"port {{self.name}} closed", flush=True)


app = cosalette.App(name="streams", heartbeat_interval=0.2, store=None)
app.adapter(StreamablePort[int], lambda: Port("fast", int))
app.adapter(StreamablePort[Slow], lambda: Port("slow", Slow))


async def consume(readings, ctx, slow):
    delivered = max_queued = 0
    async for item in readings:
        delivered += 1
        max_queued = max(max_queued, readings.qsize())
        if item % 100 == 0:
            await ctx.publish("tick", str(int(item)))
        if slow:
            await asyncio.sleep(0.001)  # the work of a slow handler
        if item == ITEMS - 1:
            await ctx.publish("done", json.dumps({{"delivered": delivered, "max_queued": max_queued}}))
        yield


@app.stream("fast")
async def fast(readings: Stream[int], ctx: DeviceContext):
    async for _ in consume(readings, ctx, False):
        yield


@app.stream("slow", maxsize={MAXSIZE}, backpressure="drop_oldest")
async def slow(readings: Stream[Slow], ctx: DeviceContext):
    async for _ in consume(readings, ctx, True):
        yield


if __name__ == "__main__":
    app.cli()
"""


def _after(count: int) -> Callable[[str], bool]:
    """A predicate true for the first heartbeat among messages after the first *count*."""
    seen = 0

    def predicate(payload: str) -> bool:
        nonlocal seen
        seen += 1
        return seen > count and payload.startswith("{")

    return predicate


async def test_a_port_at_10k_items_per_second_with_and_without_a_bound(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    await purge_retained(broker.host, broker.port, "streams/#")
    script = tmp_path / "streams_app.py"
    script.write_text(APP)
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe("streams/#")
        process = start_app(script, broker.port)
        try:
            fast_done = json.loads((await seen.wait_for("streams/fast/done", timeout=8)).payload)
            slow_done = json.loads((await seen.wait_for("streams/slow/done", timeout=8)).payload)
            beats = len(seen.received("streams/status"))
            beat = json.loads((await seen.wait_for("streams/status", _after(beats))).payload)
            await process.wait_for_output("port fast emitted")
            await process.wait_for_output("port slow emitted")

            # unbounded, keeping up: everything arrives, every 100th item published in order
            assert fast_done["delivered"] == ITEMS
            assert beat["devices"]["fast"]["dropped"] == 0
            assert seen.payloads("streams/fast/tick") == [str(i) for i in range(0, ITEMS, 100)]

            # bounded, slow: drops are counted, nothing is lost unaccounted, the bound holds
            dropped = beat["devices"]["slow"]["dropped"]
            assert dropped > 0
            assert slow_done["delivered"] + dropped == ITEMS
            assert slow_done["max_queued"] < MAXSIZE
            ticks = [int(p) for p in seen.payloads("streams/slow/tick")]
            assert ticks and ticks == sorted(set(ticks))

            process.send_signal(signal.SIGTERM)
            await process.wait_for_output("port fast closed")
            await process.wait_for_output("port slow closed")
        finally:
            code, output = finish(process)
        assert code == 0, output
