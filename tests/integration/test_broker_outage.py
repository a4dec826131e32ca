"""The broker goes away for 3 s and comes back: the app reconnects and loses nothing that matters."""

from __future__ import annotations

import asyncio
import json

from _apps import purge_retained
from _broker import Collector, MosquittoBroker

import cosalette
from cosalette.testing import make_settings


async def test_app_survives_a_broker_restart(broker: MosquittoBroker) -> None:
    app = cosalette.App(name="outage", heartbeat_interval=None)
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
            "host": broker.host,
            "port": broker.port,
            "reconnect_interval": 0.2,
            "reconnect_max_interval": 0.5,
        }
    )
    await purge_retained(broker.host, broker.port, "outage/#")
    stop = asyncio.Event()
    runner = asyncio.create_task(app._run_async(settings=settings, shutdown_event=stop))
    try:
        async with Collector(broker.host, broker.port) as seen:
            await seen.subscribe("outage/#")
            await seen.wait_for("outage/valve/availability", lambda p: p == "online", 10)
            await readings.put(0)
            await seen.wait_for("outage/meter/state", lambda p: json.loads(p) == {"n": 0})

        broker.stop()
        for n in (1, 2, 3):  # published while the broker is down
            await readings.put(n)
        await asyncio.sleep(3.0)  # the outage itself
        broker.start()

        async with Collector(broker.host, broker.port) as after:
            await after.subscribe("outage/#")
            # The app reconnects by itself and says so; the backlog follows.
            await after.wait_for("outage/valve/availability", lambda p: p == "online", 10)
            await after.wait_for("outage/meter/state", lambda p: json.loads(p)["n"] == 3, 10)
        # The newest state published during the outage is what the broker keeps.
        async with Collector(broker.host, broker.port) as later:
            await later.subscribe("outage/meter/state")
            state = await later.wait_for("outage/meter/state")
            assert state.retain and json.loads(state.payload) == {"n": 3}
            # A command sent after the reconnect is handled.
            after = later
            await after.subscribe("outage/valve/state")
            await after.publish("outage/valve/set", "closed")
            reply = await after.wait_for(
                "outage/valve/state", lambda p: json.loads(p) == {"state": "closed"}, 10
            )
            assert reply.qos == 1
    finally:
        stop.set()
        await asyncio.wait_for(runner, 10)
