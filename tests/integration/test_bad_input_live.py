"""Nasty payloads through a real mosquitto to a running app: one test per inbound path family.

Binary, invalid UTF-8, 1000-deep JSON, oversized and empty messages each get exactly one
error payload on the device's and the app's error topic (or, where the handler accepts any
text, reach it intact), the app never crashes, and the next good command is handled.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from _apps import AppProcess, finish, purge_retained, start_app
from _broker import Collector, MosquittoBroker

pytestmark = pytest.mark.integration

LIMIT = 8192  # room for DEEP_OBJECT (6001 bytes)
DEEP_ARRAY = b"[" * 1000 + b"]" * 1000
DEEP_OBJECT = b'{"a":' * 1000 + b"1" + b"}" * 1000
NASTY = {
    "binary": b"\x00\x01\xfe\xff",
    "invalid-utf8": b"\xc3\x28\xa0\xa1",
    "deep-array": DEEP_ARRAY,
    "deep-object": DEEP_OBJECT,
    "huge": b'{"x":"' + b"y" * 100_000 + b'"}',
    "empty": b"",
}

APP = """
import json
from typing import Annotated
import cosalette
from cosalette.mqtt import Payload
from pydantic import BaseModel

class Level(BaseModel):
    level: int

app = cosalette.App(name="bad", heartbeat_interval=None, store=None)

@app.command("dct")
async def dct(payload: dict) -> dict:
    return {"n": len(payload)}

@app.command("mdl", payload_model=Level)
async def mdl(payload: Level) -> dict:
    return {"level": payload.level}

@app.command("light", sub="on")
async def on(payload: dict) -> dict:
    return {"on": True}

@app.telemetry("sensor", interval=3600, triggerable=True)
async def sensor(trigger: cosalette.TriggerPayload) -> dict:
    return {"raw": len(trigger.raw or ""), "data": trigger.data is not None}

@app.telemetry("loose", interval=3600, triggerable=True)
async def loose(cmd: Annotated[dict | None, Payload()]) -> dict:
    return {"keys": None if cmd is None else len(cmd)}

@app.device("blind")
async def blind(ctx: cosalette.DeviceContext) -> None:
    @ctx.on_command
    async def move(payload: str) -> None:
        await ctx.publish_state({"position": int(payload)})

    @ctx.on_command("calibrate")
    async def calibrate(sub_topic, payload: str) -> None:
        await ctx.publish_state({"speed": json.loads(payload)["speed"]})

    await ctx.sleep(10**9)

@app.device("queue")
async def queue(ctx: cosalette.DeviceContext) -> None:
    async for command in ctx.commands():
        await ctx.publish_state({"length": len(command.payload)})

@app.device("zready")  # registered last: subscribed last
async def zready(ctx: cosalette.DeviceContext) -> None:
    @ctx.on_command
    async def ready(payload: str) -> None:
        await ctx.publish_state({"ready": payload})

    await ctx.sleep(10**9)

if __name__ == "__main__":
    app.cli()
"""


@dataclass
class Running:
    """The app process and the broker it talks to."""

    process: AppProcess
    broker: MosquittoBroker


async def _wait_ready(broker: MosquittoBroker, process: AppProcess) -> None:
    """A retained command on the last topic the app subscribes to is handled: it is serving."""
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe("bad/zready/state")
        await seen.client.publish("bad/zready/set", "go", qos=1, retain=True)
        try:
            await seen.wait_for("bad/zready/state", lambda p: "go" in p, 15)
        except AssertionError:
            raise AssertionError(process.output()) from None
        await seen.client.publish("bad/zready/set", b"", qos=1, retain=True)


@pytest.fixture(scope="module")
def running(
    mosquitto: MosquittoBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    mosquitto.start()
    asyncio.run(purge_retained(mosquitto.host, mosquitto.port, "bad/#"))
    script = tmp_path_factory.mktemp("bad-input") / "bad_app.py"
    script.write_text(APP)
    process = start_app(script, mosquitto.port, extra={"MQTT__MAX_PAYLOAD_BYTES": str(LIMIT)})
    try:
        asyncio.run(_wait_ready(mosquitto, process))
        yield Running(process, mosquitto)
    finally:
        code, output = finish(process)
        asyncio.run(purge_retained(mosquitto.host, mosquitto.port, "bad/#"))
    assert code == 0, output
    for unhandled in ("Unhandled error", "callback failed", "crashed"):
        assert unhandled not in output, output


def _errors(seen: Collector, topic: str) -> list[dict[str, object]]:
    return [json.loads(p) for p in seen.payloads(topic)]


def _live(seen: Collector, topic: str) -> list[str]:
    """Payloads published on *topic* while the collector listened (no retained replays)."""
    return [m.payload for m in seen.received(topic) if not m.retain]


@dataclass
class Sent:
    """What a batch of nasty payloads and one good one produced."""

    errors: list[dict[str, object]]
    states: list[str]


async def _send_all(running: Running, topic: str, good: bytes, state: str) -> Sent:
    """Send every nasty payload, then *good*; once *state* is published live, what came."""
    device = topic.split("/")[1]
    broker = running.broker
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe(f"bad/{device}/#", "bad/error")
        for payload in NASTY.values():
            await seen.client.publish(topic, payload, qos=1)
        await seen.client.publish(topic, good, qos=1)
        state_topic = f"bad/{device}/state"
        await seen.wait_for(state_topic, lambda _: state in _live(seen, state_topic), 15)
        errors = _errors(seen, f"bad/{device}/error")
        assert errors == _errors(seen, "bad/error"), "device and app error topics differ"
        assert running.process.poll() is None, running.process.output()
        return Sent(errors, _live(seen, state_topic))


def _types(sent: Sent) -> list[str]:
    return sorted(str(e["error_type"]) for e in sent.errors)


INVALID_AND_TOO_LARGE = sorted(["invalid_payload"] * 5 + ["payload_too_large"])


async def test_commands_reject_each_nasty_payload_once(running: Running) -> None:
    for device, good, state in (
        ("dct", b'{"a":1}', '{"n":1}'),
        ("mdl", b'{"level":7}', '{"level":7}'),
        ("light", b'{"command":"on"}', '{"on":true}'),
    ):
        sent = await _send_all(running, f"bad/{device}/set", good, state)
        assert _types(sent) == INVALID_AND_TOO_LARGE, (device, sent.errors)
        assert all(e["details"] == {"topic": f"bad/{device}/set"} for e in sent.errors)
        assert sent.states == [state], (device, sent.states)
        if device == "dct":
            messages = {str(e["message"]) for e in sent.errors}
            assert "payload is nested deeper than 64 levels" in messages


async def test_device_handlers_fail_once_per_nasty_payload_and_commands_get_them_all(
    running: Running,
) -> None:
    failed = sorted(["error"] * 5 + ["payload_too_large"])
    sent = await _send_all(running, "bad/blind/set", b"42", '{"position":42}')
    assert _types(sent) == failed and sent.states == ['{"position":42}']
    sent = await _send_all(running, "bad/blind/calibrate/set", b'{"speed":3}', '{"speed":3}')
    assert _types(sent) == failed and sent.states == ['{"speed":3}']
    sent = await _send_all(running, "bad/queue/set", b"hello", '{"length":5}')
    assert _types(sent) == ["payload_too_large"]
    lengths = [json.loads(s)["length"] for s in sent.states]
    assert lengths == [4, 4, len(DEEP_ARRAY), len(DEEP_OBJECT), 0, 5], "every one reached it"


async def test_triggers_reject_binary_and_oversized_and_typed_ones_invalid_json(
    running: Running,
) -> None:
    sent = await _send_all(running, "bad/sensor/set", b'{"days": 3}', '{"raw":11,"data":true}')
    assert _types(sent) == sorted(["invalid_payload", "invalid_payload", "payload_too_large"])
    *before, last = [json.loads(s) for s in sent.states]
    assert last == {"raw": 11, "data": True}
    assert before and all(run["data"] is False for run in before)  # deep: no data, still runs
    sent = await _send_all(running, "bad/loose/set", b'{"days": 3}', '{"keys":1}')
    assert _types(sent) == sorted(["invalid_payload"] * 4 + ["payload_too_large"])
    assert sent.states[-1] == '{"keys":1}'


async def test_unrouted_and_unknown_topics(running: Running) -> None:
    broker = running.broker
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe("bad/#")
        for topic in ("bad/valve/x/set", "bad/blind/calibrate/x/set", "bad/é/set", "bad//set"):
            await seen.client.publish(topic, b"\xff", qos=1)
        await seen.client.publish("bad/blind/nope/set", b"1", qos=1)
        await seen.client.publish("bad/blind/set", b"43", qos=1)
        await seen.wait_for("bad/blind/state", lambda p: p == '{"position":43}', 15)
        errors = _errors(seen, "bad/error")
        assert [e["error_type"] for e in errors] == ["unknown_command"]
        assert errors[0]["details"] == {"topic": "bad/blind/nope/set"}
        assert running.process.poll() is None
