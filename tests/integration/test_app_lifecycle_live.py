"""A real app process against a real mosquitto: state, commands, availability, last will."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from _apps import finish, purge_retained, start_app, write_lifecycle_app
from _broker import Collector, MosquittoBroker


def _write_app(tmp_path: Path) -> Path:
    return write_lifecycle_app(tmp_path, "live")


async def test_state_command_availability_and_clean_shutdown(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    await purge_retained(broker.host, broker.port, "live/#")
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe("live/#")
        process = start_app(_write_app(tmp_path), broker.port)
        try:
            await seen.wait_for("live/meter/availability", lambda p: p == "online", 10)
            state = await seen.wait_for("live/meter/state")
            assert state.qos == 1
            assert json.loads(state.payload)["reading"] >= 1
            assert " " not in state.payload  # compact JSON
            beat = await seen.wait_for("live/status", lambda p: p.startswith("{"))
            assert json.loads(beat.payload)["version"] == "2.0.0"

            await seen.publish("live/valve/set", "open")
            reply = await seen.wait_for("live/valve/state")
            assert json.loads(reply.payload) == {"state": "open"}

            process.send_signal(signal.SIGTERM)
            await seen.wait_for("live/meter/availability", lambda p: p == "offline")
            await seen.wait_for("live/valve/availability", lambda p: p == "offline")
            await seen.wait_for("live/status", lambda p: p == "offline")
        finally:
            code, output = finish(process)
        assert code == 0, output

    # A client connecting afterwards sees the retained last state and offline availability.
    async with Collector(broker.host, broker.port) as later:
        await later.subscribe("live/meter/availability", "live/meter/state")
        retained = await later.wait_for("live/meter/availability")
        assert retained.payload == "offline" and retained.retain
        last_state = await later.wait_for("live/meter/state")
        assert last_state.retain and json.loads(last_state.payload)["reading"] >= 1


async def test_last_will_is_published_when_the_process_is_killed(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    await purge_retained(broker.host, broker.port, "live/#")
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe("live/status")
        process = start_app(_write_app(tmp_path), broker.port)
        try:
            await seen.wait_for("live/status", lambda p: p.startswith("{"), 10)
            process.send_signal(signal.SIGKILL)
            will = await seen.wait_for("live/status", lambda p: p == "offline", 10)
            assert will.payload == "offline"
        finally:
            finish(process)
    async with Collector(broker.host, broker.port) as later:
        await later.subscribe("live/status")
        retained = await later.wait_for("live/status")
        assert retained.payload == "offline" and retained.retain


async def test_bad_command_payloads_go_to_the_error_topic_and_the_app_goes_on(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    script = tmp_path / "strict_app.py"
    script.write_text(
        """
import cosalette
from pydantic import BaseModel

class Move(BaseModel):
    position: int

app = cosalette.App(name="strict")

@app.command("blind", payload_model=Move)
async def blind(payload: Move) -> dict[str, object]:
    return {"position": payload.position}

if __name__ == "__main__":
    app.cli()
"""
    )
    await purge_retained(broker.host, broker.port, "strict/#")
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe("strict/#")
        process = start_app(script, broker.port, extra={"MQTT__MAX_PAYLOAD_BYTES": "64"})
        try:
            await seen.wait_for("strict/blind/availability", lambda p: p == "online", 10)
            await seen.publish("strict/blind/set", "{not json")
            await seen.publish("strict/blind/set", '{"position": "high"}')
            await seen.publish("strict/blind/set", "x" * 100)
            await seen.publish("strict/blind/set", '{"position": 40}')
            state = await seen.wait_for("strict/blind/state")
            assert json.loads(state.payload) == {"position": 40}
            errors = [json.loads(p) for p in seen.payloads("strict/blind/error")]
            assert [e["error_type"] for e in errors] == [
                "invalid_payload",
                "invalid_payload",
                "payload_too_large",
            ]
            assert all(e["device"] == "blind" for e in errors)
            assert len(seen.payloads("strict/error")) == 3
            assert process.poll() is None
        finally:
            process.send_signal(signal.SIGTERM)
            code, output = finish(process)
        assert code == 0, output
