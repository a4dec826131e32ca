"""A triggerable telemetry device in a real process against a real mosquitto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _apps import finish, purge_retained, start_app
from _broker import Collector, MosquittoBroker

pytestmark = pytest.mark.integration

APP = """
import cosalette

app = cosalette.App(name="trig", heartbeat_interval=None, store=None)

@app.telemetry("sensor", interval=1.0, triggerable=True)
async def sensor(ctx: cosalette.DeviceContext, trigger: cosalette.TriggerPayload):
    return {"t": ctx.clock.now(), "triggered": trigger.is_triggered, "days": trigger.get("days")}

if __name__ == "__main__":
    app.cli()
"""


async def test_a_trigger_reads_now_and_the_next_poll_comes_one_interval_later(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    script = tmp_path / "trig_app.py"
    script.write_text(APP)
    await purge_retained(broker.host, broker.port, "trig/#")
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe("trig/sensor/state")
        process = start_app(script, broker.port)
        try:
            await seen.wait_for("trig/sensor/state", None, 10)  # serving: the first poll
            await seen.publish("trig/sensor/set", '{"days": 3}')
            got = await seen.wait_for("trig/sensor/state", lambda p: json.loads(p)["triggered"])
            triggered = json.loads(got.payload)
            assert triggered["days"] == 3 and got.qos == 1
            after = await seen.wait_for(
                "trig/sensor/state", lambda p: json.loads(p)["t"] > triggered["t"], 5
            )
            scheduled = json.loads(after.payload)
            assert scheduled["triggered"] is False
            assert 0.9 <= scheduled["t"] - triggered["t"] <= 1.3  # one interval after the trigger
        finally:
            code, output = finish(process)
        assert code == 0, output
