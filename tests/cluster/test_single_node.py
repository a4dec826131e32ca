"""A real app process against one RabbitMQ node (MQTT 3.1.1): what mosquitto passes, it passes.

The equivalents of ``tests/integration/test_app_lifecycle_live.py``: state retained at QoS 1,
command -> state, availability online/offline, a clean shutdown, and the last will when the
process is killed. Only node 1 of the session's cluster is used.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

from _apps import finish, purge_retained, start_app, write_lifecycle_app
from _broker import Collector
from _rabbitmq import RabbitCluster


def _write_app(tmp_path: Path) -> Path:
    return write_lifecycle_app(tmp_path, "rlive")


async def test_state_command_availability_and_clean_shutdown(
    tmp_path: Path, rabbit_cluster: RabbitCluster
) -> None:
    host, port = rabbit_cluster.host, rabbit_cluster.node(1).mqtt_port
    await purge_retained(host, port, "rlive/#")
    async with Collector(host, port) as seen:
        await seen.subscribe("rlive/#")
        process = start_app(_write_app(tmp_path), port)
        try:
            await seen.wait_for("rlive/meter/availability", lambda p: p == "online", 10)
            state = await seen.wait_for("rlive/meter/state")
            assert state.qos == 1
            assert json.loads(state.payload)["reading"] >= 1
            assert " " not in state.payload  # compact JSON
            beat = await seen.wait_for("rlive/status", lambda p: p.startswith("{"))
            assert json.loads(beat.payload)["version"] == "2.0.0"

            await seen.publish("rlive/valve/set", "open")
            reply = await seen.wait_for("rlive/valve/state")
            assert json.loads(reply.payload) == {"state": "open"}

            process.send_signal(signal.SIGTERM)
            await seen.wait_for("rlive/meter/availability", lambda p: p == "offline")
            await seen.wait_for("rlive/valve/availability", lambda p: p == "offline")
            await seen.wait_for("rlive/status", lambda p: p == "offline")
        finally:
            code, output = finish(process)
        assert code == 0, output

    # A client connecting afterwards sees the retained last state and offline availability.
    async with Collector(host, port) as later:
        await later.subscribe("rlive/meter/availability", "rlive/meter/state", "rlive/valve/state")
        retained = await later.wait_for("rlive/meter/availability")
        assert retained.payload == "offline" and retained.retain
        last_state = await later.wait_for("rlive/meter/state")
        assert last_state.retain and json.loads(last_state.payload)["reading"] >= 1
        valve_state = await later.wait_for("rlive/valve/state")
        assert valve_state.retain and json.loads(valve_state.payload) == {"state": "open"}


async def test_last_will_is_published_when_the_process_is_killed(
    tmp_path: Path, rabbit_cluster: RabbitCluster
) -> None:
    host, port = rabbit_cluster.host, rabbit_cluster.node(1).mqtt_port
    await purge_retained(host, port, "rlive/#")
    async with Collector(host, port) as seen:
        await seen.subscribe("rlive/status")
        process = start_app(_write_app(tmp_path), port)
        try:
            await seen.wait_for("rlive/status", lambda p: p.startswith("{"), 10)
            process.send_signal(signal.SIGKILL)
            will = await seen.wait_for("rlive/status", lambda p: p == "offline", 10)
            assert will.payload == "offline"
        finally:
            finish(process)
    async with Collector(host, port) as later:
        await later.subscribe("rlive/status")
        retained = await later.wait_for("rlive/status")
        assert retained.payload == "offline" and retained.retain
