"""The spec's examples (examples/*.py) run as real processes and publish what the spec says."""

from __future__ import annotations

import json

from _apps import EXAMPLES, finish, purge_retained, start_app
from _broker import Collector, MosquittoBroker


async def test_minimal_telemetry_device(broker: MosquittoBroker) -> None:
    await purge_retained(broker.host, broker.port, "gas2mqtt/#")
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe("gas2mqtt/#")
        process = start_app(EXAMPLES / "minimal_telemetry.py", broker.port)
        try:
            state = await seen.wait_for("gas2mqtt/counter/state", None, 10)
            assert state.payload == '{"impulses":42}'
            assert state.qos == 1
        finally:
            code, output = finish(process)
        assert code == 0, output
    async with Collector(broker.host, broker.port) as later:
        await later.subscribe("gas2mqtt/counter/state")
        assert (await later.wait_for("gas2mqtt/counter/state")).retain


async def test_gas_meter_example_with_fake_meter(broker: MosquittoBroker) -> None:
    await purge_retained(broker.host, broker.port, "gas2mqtt/#")
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe("gas2mqtt/#")
        process = start_app(
            EXAMPLES / "gas2mqtt.py",
            broker.port,
            "--dry-run",
            prefix="GAS2MQTT_",
            extra={"GAS2MQTT_POLL_INTERVAL": "1"},
        )
        try:
            first = await seen.wait_for("gas2mqtt/counter/state", None, 10)
            reading = json.loads(first.payload)
            assert set(reading) == {"impulses", "temperature_celsius"}
            assert isinstance(reading["impulses"], int)
            await seen.wait_for("gas2mqtt/counter/state", lambda p: p != first.payload, 5)
        finally:
            code, output = finish(process)
        assert code == 0, output


async def test_gas_meter_without_hardware_reports_the_error_once(broker: MosquittoBroker) -> None:
    await purge_retained(broker.host, broker.port, "gas2mqtt/#")
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe("gas2mqtt/#")
        process = start_app(
            EXAMPLES / "gas2mqtt.py",
            broker.port,
            prefix="GAS2MQTT_",
            extra={"GAS2MQTT_POLL_INTERVAL": "1"},
        )
        try:
            error = await seen.wait_for("gas2mqtt/counter/error", None, 10)
            payload = json.loads(error.payload)
            assert set(payload) == {"error_type", "message", "device", "timestamp", "details"}
            assert payload["device"] == "counter"
            assert payload["message"] == "no gas meter answers on /dev/ttyUSB0"
            assert json.loads((await seen.wait_for("gas2mqtt/error", None, 5)).payload) == payload
            await process.wait_for_output("no gas meter answers")  # logged with its traceback
            assert process.poll() is None
        finally:
            code, output = finish(process)
        assert code == 0, output


async def test_command_and_control_examples(broker: MosquittoBroker) -> None:
    await purge_retained(broker.host, broker.port, "velux2mqtt/#")
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe("velux2mqtt/#")
        process = start_app(EXAMPLES / "blind.py", broker.port)
        try:
            initial = await seen.wait_for("velux2mqtt/blind/state", None, 10)
            assert json.loads(initial.payload) == {"position": None, "moving": False}
            await seen.wait_for("velux2mqtt/blind/availability", lambda p: p == "online")
            await seen.publish("velux2mqtt/blind/set", "40")
            moved = await seen.wait_for("velux2mqtt/blind/state", lambda p: "40" in p)
            assert json.loads(moved.payload) == {"position": 40}
            await seen.publish("velux2mqtt/valve/set", "open")
            valve = await seen.wait_for("velux2mqtt/valve/state")
            assert json.loads(valve.payload) == {"state": "open"}
            loop_state = await seen.wait_for("velux2mqtt/counter/state", None, 5)
            assert json.loads(loop_state.payload) == {"count": 2, "trigger": "CLOSED"}
        finally:
            code, output = finish(process)
        assert code == 0, output


async def test_periodic_tasks_run_without_mqtt_topics(broker: MosquittoBroker) -> None:
    await purge_retained(broker.host, broker.port, "bridge/#")
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe("bridge/#")
        process = start_app(EXAMPLES / "periodic.py", broker.port, extra={"LED_INTERVAL": "0.2"})
        try:
            await seen.wait_for("bridge/status", lambda p: p.startswith("{"), 10)
            await process.wait_for_output("LED state synchronised")
        finally:
            code, output = finish(process, timeout=10)
        assert code == 0, output
        assert output.count("LED state synchronised") >= 1, output
        topics = {m.topic for m in seen.messages}
        assert topics == {"bridge/status", "bridge/_meta/registry"}  # no device topics
