"""A broker restart without persistence: every retained message the bridge owns comes back,
and the bridge is connected again within about a second of the broker accepting."""

from __future__ import annotations

import asyncio
import json
import time

from _apps import purge_retained
from _broker import Collector, MosquittoBroker

import cosalette
from cosalette.testing import make_settings


def make_app() -> cosalette.App:
    app = cosalette.App(name="restart", version="1.2.0", heartbeat_interval=3600)

    @app.telemetry("meter", interval=3600)  # polls once: its state is not published again
    async def meter() -> dict[str, object]:
        return {"kwh": 12.5}

    @app.command("valve")
    async def valve(payload: str) -> dict[str, object]:
        return {"state": payload}

    return app


async def _retained(broker: MosquittoBroker, pattern: str) -> dict[str, str]:
    """Every retained message under *pattern*: what a client connecting now is given.

    The broker sends them right after the subscription; our own marker message, published
    after that, arrives after them.
    """
    marker = f"test-marker/{time.monotonic_ns()}"
    async with Collector(broker.host, broker.port) as later:
        await later.subscribe(pattern, marker)
        await later.publish(marker, "end")
        await later.wait_for(marker)
        return {m.topic: m.payload for m in later.messages if m.retain}


async def test_every_retained_message_is_back_after_a_broker_restart(
    broker: MosquittoBroker,
) -> None:
    app = make_app()
    settings: cosalette.Settings = make_settings(
        mqtt={"host": broker.host, "port": broker.port},
        homeassistant={"discovery": False},
    )
    await purge_retained(broker.host, broker.port, "restart/#")
    stop = asyncio.Event()
    runner = asyncio.create_task(app._run_async(settings=settings, shutdown_event=stop))
    try:
        async with Collector(broker.host, broker.port) as seen:
            await seen.subscribe("restart/#")
            await seen.wait_for("restart/valve/availability", lambda p: p == "online", 10)
            await seen.wait_for("restart/meter/state")
            await seen.publish("restart/valve/set", "open")
            await seen.wait_for("restart/valve/state", lambda p: json.loads(p)["state"] == "open")
        before = await _retained(broker, "restart/#")

        broker.stop()  # persistence false: the broker forgets every retained message
        broker.start()
        accepting = time.monotonic()
        async with Collector(broker.host, broker.port) as after:
            await after.subscribe("restart/valve/availability")
            await after.wait_for("restart/valve/availability", lambda p: p == "online", 10)
            reconnected = time.monotonic() - accepting
        after_restart = await _retained(broker, "restart/#")
    finally:
        stop.set()
        await asyncio.wait_for(runner, 10)

    assert sorted(before) == [
        "restart/_meta/registry",
        "restart/meter/availability",
        "restart/meter/state",
        "restart/status",
        "restart/valve/availability",
        "restart/valve/state",
    ]
    # the command device's state and the once-polled reading are back, not only availability;
    # the heartbeat is a fresh one (published at the reconnect, naming the broker)
    status_before, status_after = before.pop("restart/status"), after_restart.pop("restart/status")
    assert after_restart == before
    assert json.loads(status_after)["broker"] == json.loads(status_before)["broker"]
    assert json.loads(status_after)["uptime_s"] >= json.loads(status_before)["uptime_s"]
    assert json.loads(after_restart["restart/valve/state"]) == {"state": "open"}
    assert reconnected < 2.0, f"reconnected {reconnected:.2f} s after the broker accepted"
