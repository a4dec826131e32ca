"""Benchmark: commands handled per second through ``MockMqttClient.deliver()``, one in flight.

The framework path: ``deliver()`` on ``bench/valve/set`` runs the app's message routing,
the device's FIFO and the ``@app.command("valve")`` handler, whose ``{"state": payload}``
is published on ``bench/valve/state``; the benchmark yields to the loop until that state
publish is recorded before it delivers the next command. The floor calls the same
handler directly and publishes its result through the same kind of ``MockMqttClient``.

Every round checks that each command produced exactly one state publish with its payload.
Reports; never asserts the target. ``COSALETTE_BENCH_SMOKE=1`` uses small counts.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _report.py sits beside this file
from _report import report

import cosalette
from cosalette.testing import AppHarness, MockMqttClient

SMOKE = os.environ.get("COSALETTE_BENCH_SMOKE", "") not in ("", "0")
COMMANDS = 1_000 if SMOKE else 50_000  # commands per timed round
ROUNDS = 3 if SMOKE else 7  # rounds per subject, interleaved; the fastest round counts
SET_TOPIC = "bench/valve/set"
STATE_TOPIC = "bench/valve/state"
PAYLOADS = ("open", "closed")
FLOOR_NAME = "direct call + publish"
TARGET = ">=150k cmd/s (other impl ~116k)"
MAX_YIELDS = 50


async def valve(payload: str) -> dict[str, Any]:
    """The handler under test, shared by the framework and the floor."""
    return {"state": payload}


def _check(mqtt: MockMqttClient, commands: int, what: str) -> None:
    states = mqtt.get_messages_for(STATE_TOPIC)
    assert len(states) == commands, f"{what}: {len(states)} states for {commands} commands"
    assert len(mqtt.published) == commands, f"{what}: unexpected publishes {mqtt.published[:3]}"
    assert states[0] == ('{"state":"open"}', True, 1), f"{what}: first state {states[0]}"
    last = PAYLOADS[(commands - 1) % len(PAYLOADS)]
    assert states[-1][0] == f'{{"state":"{last}"}}', f"{what}: last state {states[-1]}"


async def _framework_round(mqtt: MockMqttClient, commands: int) -> float:
    """Commands per second through deliver(), waiting for each one's state publish."""
    mqtt.published.clear()
    published, deliver, sleep = mqtt.published, mqtt.deliver, asyncio.sleep
    start = time.perf_counter_ns()
    for i in range(commands):
        expected = i + 1
        await deliver(SET_TOPIC, PAYLOADS[i & 1])
        yields = 0
        while len(published) < expected:
            await sleep(0)
            yields += 1
            if yields > MAX_YIELDS:
                raise AssertionError(f"command {i} produced no state publish")
    elapsed = time.perf_counter_ns() - start
    _check(mqtt, commands, "framework")
    return commands / (elapsed / 1e9)


async def _floor_round(mqtt: MockMqttClient, commands: int) -> float:
    """Commands per second calling the handler directly and publishing its result."""
    mqtt.published.clear()
    publish = mqtt.publish
    start = time.perf_counter_ns()
    for i in range(commands):
        result = await valve(PAYLOADS[i & 1])
        await publish(STATE_TOPIC, result, retain=True, qos=1)
    elapsed = time.perf_counter_ns() - start
    _check(mqtt, commands, "floor")
    return commands / (elapsed / 1e9)


async def measure() -> tuple[float, float]:
    """Interleaved rounds; returns the best (framework, floor) rates in commands/s."""
    app = cosalette.App("bench", heartbeat_interval=None, health_check_interval=None)
    app.command("valve")(valve)
    harness = AppHarness(app=app)
    await harness.start()
    harness.assert_subscribed(SET_TOPIC)
    floor_mqtt = MockMqttClient()
    best = {"framework": 0.0, "floor": 0.0}
    try:
        await _framework_round(harness.mqtt, 100)  # warm-up
        for round_no in range(ROUNDS):
            subjects = [
                ("framework", _framework_round(harness.mqtt, COMMANDS)),
                ("floor", _floor_round(floor_mqtt, COMMANDS)),
            ]
            for name, coro in subjects if round_no % 2 == 0 else subjects[::-1]:
                best[name] = max(best[name], await coro)
    finally:
        await harness.stop()
    return best["framework"], best["floor"]


@pytest.mark.bench
def test_bench_commands() -> None:
    framework, floor = asyncio.run(measure())
    print(f"commands: {COMMANDS} commands x {ROUNDS} rounds, one in flight", flush=True)
    report("commands floor", floor / 1000, "k cmd/s", FLOOR_NAME, floor / 1000, "1.00x (floor)")
    report("commands via deliver()", framework / 1000, "k cmd/s", FLOOR_NAME, floor / 1000, TARGET)


if __name__ == "__main__":
    test_bench_commands()
