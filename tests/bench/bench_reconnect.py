"""Benchmark: how soon the bridge is connected again after a broker outage.

The real ``MqttClient`` (default settings) against a real mosquitto that is stopped for 1-8 s
and started again, ten times. Measured: from the moment the broker accepts connections again
to the client being connected (subscriptions restored, connect callbacks done). The floor is a
fresh raw aiomqtt connect to the running broker, measured in the same run. Target (issue 13):
p50 at most 1 s for outages under 10 s.

Reports; never asserts a target. ``COSALETTE_BENCH_SMOKE=1`` uses two short outages.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _report.py sits beside this file
import aiomqtt
from _bench_broker import module_broker
from _broker import MosquittoBroker
from _report import report

import cosalette

SMOKE = os.environ.get("COSALETTE_BENCH_SMOKE", "") not in ("", "0")
OUTAGES = [0.5, 1.0] if SMOKE else [1, 2, 3, 4, 5, 6, 7, 8, 2, 5]  # seconds the broker is down
TARGET_MS = 1000.0
TIMEOUT = 30.0


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    yield from module_broker(tmp_path_factory)


async def _raw_connect_ms(broker: MosquittoBroker) -> float:
    start = time.perf_counter()
    async with aiomqtt.Client(broker.host, broker.port, identifier="bench-floor"):
        elapsed = time.perf_counter() - start
    return elapsed * 1e3


async def measure(broker: MosquittoBroker) -> tuple[list[float], list[float]]:
    """(bridge reconnect ms per outage, raw connect ms per outage)."""
    client = cosalette.MqttClient(
        cosalette.MqttSettings(host=broker.host, port=broker.port, client_id="bench-reconnect")
    )
    await client.subscribe("bench/reconnect/set")
    await client.start()
    assert await client.wait_connected(TIMEOUT)
    ours: list[float] = []
    floor: list[float] = []
    try:
        for seconds in OUTAGES:
            broker.stop()
            await asyncio.sleep(seconds)  # the outage being simulated
            assert not client.is_connected
            broker.start()  # returns once the listener accepts
            accepting = time.perf_counter()
            assert await client.wait_connected(TIMEOUT), "no reconnect"
            ours.append((time.perf_counter() - accepting) * 1e3)
            floor.append(await _raw_connect_ms(broker))
    finally:
        await client.stop()
    return ours, floor


@pytest.mark.bench
def test_bench_reconnect(broker: MosquittoBroker) -> None:
    ours, floor = asyncio.run(measure(broker))
    print(
        f"reconnect: {len(OUTAGES)} outages of {min(OUTAGES)}-{max(OUTAGES)} s, default "
        f"settings (retry every ~0.5 s for the first 15 s of an outage)",
        flush=True,
    )
    base = statistics.median(floor)
    p50 = statistics.median(ours)
    met = "met" if p50 <= TARGET_MS else "MISSED"
    report("reconnect floor (raw connect)", base, "ms", "raw aiomqtt connect", base, "1.00x")
    report("reconnect p50", p50, "ms", "raw aiomqtt connect", base, f"<={TARGET_MS:.0f} ms: {met}")
    report("reconnect worst", max(ours), "ms", "raw aiomqtt connect", base, "report")
