"""Two brokers in ``mqtt.hosts``: when node A goes away the bridge moves to node B at once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from _broker import (
    Collector,
    MosquittoBroker,
    require_mosquitto,
)

import cosalette
from cosalette.testing import make_settings

FAILOVER_BUDGET = 2.0  # seconds from node A stopping to the bridge being online on node B


@pytest.fixture
def two_brokers(tmp_path: Path) -> Iterator[tuple[MosquittoBroker, MosquittoBroker]]:
    executable = require_mosquitto()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    node_a = MosquittoBroker(executable, tmp_path / "a")
    node_b = MosquittoBroker(executable, tmp_path / "b")
    try:
        node_a.start()
        node_b.start()
        yield node_a, node_b
    finally:
        node_a.stop()
        node_b.stop()


async def test_a_bridge_moves_to_the_next_broker_when_its_node_stops(
    two_brokers: tuple[MosquittoBroker, MosquittoBroker],
) -> None:
    node_a, node_b = two_brokers
    address_a, address_b = f"{node_a.host}:{node_a.port}", f"{node_b.host}:{node_b.port}"
    app = cosalette.App(name="multi", heartbeat_interval=None)  # heartbeat at each connect
    readings: asyncio.Queue[int] = asyncio.Queue()

    @app.device("meter")
    async def meter(ctx: cosalette.DeviceContext) -> None:
        while not ctx.shutdown_requested:
            try:
                value = await asyncio.wait_for(readings.get(), 0.1)
            except TimeoutError:
                continue
            await ctx.publish_state({"n": value})

    @app.command("valve")
    async def valve(payload: str) -> dict[str, object]:
        return {"state": payload}

    settings: cosalette.Settings = make_settings(
        mqtt={
            "hosts": [address_a, address_b],
            "reconnect_interval": 0.2,
            "reconnect_max_interval": 0.5,
        }
    )
    stop = asyncio.Event()
    runner = asyncio.create_task(app._run_async(settings=settings, shutdown_event=stop))
    loop = asyncio.get_running_loop()
    try:
        async with (
            Collector(node_a.host, node_a.port) as on_a,
            Collector(node_b.host, node_b.port) as on_b,
        ):
            await on_a.subscribe("multi/#")
            await on_b.subscribe("multi/#")
            await on_a.wait_for("multi/valve/availability", lambda p: p == "online", 10)
            await on_a.wait_for("multi/status", lambda p: json.loads(p)["broker"] == address_a, 5)
            await readings.put(7)
            await on_a.wait_for("multi/meter/state", lambda p: json.loads(p) == {"n": 7})
            assert on_b.payloads("multi/valve/availability") == []  # only on node A so far

            stopped_at = loop.time()
            node_a.stop()
            await on_b.wait_for(
                "multi/valve/availability", lambda p: p == "online", FAILOVER_BUDGET
            )
            assert loop.time() - stopped_at < FAILOVER_BUDGET
            # The heartbeat published at the reconnect names node B.
            beat = await on_b.wait_for("multi/status", timeout=5)
            assert json.loads(beat.payload)["broker"] == address_b

        async with Collector(node_b.host, node_b.port) as later:
            # Its retained state was published again on node B ...
            await later.subscribe("multi/meter/state")
            state = await later.wait_for("multi/meter/state", timeout=5)
            assert state.retain and json.loads(state.payload) == {"n": 7}
            # ... and a command sent through node B is answered there.
            await later.subscribe("multi/valve/state")
            await later.publish("multi/valve/set", "closed")
            await later.wait_for(
                "multi/valve/state", lambda p: json.loads(p) == {"state": "closed"}, 5
            )
    finally:
        stop.set()
        await asyncio.wait_for(runner, 10)
