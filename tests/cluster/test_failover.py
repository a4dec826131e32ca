"""A bridge with ``mqtt.hosts = [node A, node B]`` keeps working when node A is lost.

Node A is stopped (SIGTERM; ``kill -9`` of its Erlang VM is opt-in, see ``KILL_SKIP``) while
the bridge publishes telemetry through it. The bridge must publish through node B within 2 s of
the loss, answer a command sent through node B, and leave every device's latest state retained
on node B: RabbitMQ keeps retained messages per node, so node B has them only because the client
re-publishes its retained state after a reconnect. A subscriber on node B, connected the whole
time, must see no telemetry reading lost. Node A is the cluster's node 1, node B its node 2.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _apps import finish, purge_retained, start_app
from _broker import Collector, Received, eventually
from _rabbitmq import RabbitCluster

APP = """
import itertools
import cosalette

app = cosalette.App(name="fover", version="1.0.0", heartbeat_interval=0.5)
counter = itertools.count(1)

@app.telemetry("meter", interval=0.1)
async def meter() -> dict[str, object]:
    return {"reading": next(counter)}

@app.telemetry("boiler", interval=3600)  # polled once: its state is never published again
async def boiler() -> dict[str, object]:
    return {"celsius": 61.5}

@app.telemetry("pump", interval=3600)
async def pump() -> dict[str, object]:
    return {"rpm": 1200}

@app.command("valve")
async def valve(payload: str) -> dict[str, object]:
    return {"state": payload}

if __name__ == "__main__":
    app.cli()
"""

FAILOVER_LIMIT_S = 2.0
A, B = 1, 2  # the bridge starts on node A, node A is lost, it moves to node B
KILL_OPT_IN = "COSALETTE_CLUSTER_KILL"
DEVICES = ("meter", "boiler", "pump", "valve")


async def _retained(host: str, port: int, topics: list[str]) -> dict[str, str]:
    """The retained message of each of *topics* that a client connecting to *port* is given.

    RabbitMQ 3.10 gives retained messages only to subscriptions of the exact topic (never to a
    wildcard), so each topic is subscribed to on its own.
    """
    marker = f"fover-marker/{time.monotonic_ns()}"
    async with Collector(host, port) as later:
        await later.subscribe(*topics, marker)
        await later.publish(marker, "end")
        await later.wait_for(marker)
        return {m.topic: m.payload for m in later.messages if m.retain and m.topic in topics}


async def _next_message(collector: Collector, after: int, topic: str) -> Received:
    """The first message on *topic* among those *collector* receives from index *after* on."""
    found: list[Received] = []

    def arrived() -> bool:
        found[:] = [m for m in collector.messages[after:] if m.topic == topic][:1]
        return bool(found)

    await eventually(arrived, within=5, what=f"a new message on {topic}")
    return found[0]


def _reading(payload: str) -> int:
    return int(json.loads(payload)["reading"])


KILL_SKIP = (
    "kill -9 of node A: RabbitMQ 3.10 may keep the dead node's subscription queue for the "
    "bridge's client id, so a reconnect with the same id can wait for a SUBACK forever (2 of 4 "
    "runs before the runtime renewed its default client id on a node change; 3 of 3 passed "
    f"since). Opt-in until it has a longer record: set {KILL_OPT_IN}=1 to run it"
)


@pytest.fixture
def cluster(rabbit_cluster: RabbitCluster, tmp_path: Path) -> Iterator[RabbitCluster]:
    """The session cluster while node A runs; else a fresh one (node A cannot come back)."""
    if rabbit_cluster.node(A).running:
        yield rabbit_cluster
        return
    fresh = RabbitCluster(tmp_path / "cluster")
    started = time.monotonic()
    fresh.start()
    print(f"\n[cluster] a fresh 2-node cluster up in {time.monotonic() - started:.1f} s")
    try:
        yield fresh
    finally:
        fresh.teardown()


@pytest.mark.parametrize(
    "kill",
    [
        pytest.param(False, id="sigterm"),
        pytest.param(
            True,
            id="kill-9",
            marks=pytest.mark.skipif(
                os.environ.get(KILL_OPT_IN, "") in ("", "0"), reason=KILL_SKIP
            ),
        ),
    ],
)
async def test_the_bridge_moves_to_node_2_when_node_1_is_lost(
    tmp_path: Path, cluster: RabbitCluster, kill: bool
) -> None:
    host = cluster.host
    port_a, port_b = cluster.node(A).mqtt_port, cluster.node(B).mqtt_port
    node_a, node_b = cluster.mqtt_address(A), cluster.mqtt_address(B)
    for port in (port_a, port_b):
        await purge_retained(host, port, "fover/#")
    script = tmp_path / "fover_app.py"
    script.write_text(APP)

    async with Collector(host, port_b) as seen:  # on node B the whole time
        await seen.subscribe("fover/#")
        process = start_app(script, port_a, extra={"MQTT__HOSTS": json.dumps([node_a, node_b])})
        try:
            await process.wait_for_output(f"Connected to MQTT broker {node_a}", 15)
            for device in DEVICES:
                await seen.wait_for(f"fover/{device}/availability", lambda p: p == "online", 10)
            for device in ("boiler", "pump"):
                await seen.wait_for(f"fover/{device}/state")
            # A command through node A: its state is retained on node A only.
            async with Collector(host, port_a) as via_node_a:
                await via_node_a.publish("fover/valve/set", "open")
            await seen.wait_for("fover/valve/state", lambda p: json.loads(p) == {"state": "open"})
            await seen.wait_for("fover/meter/state", lambda p: _reading(p) >= 5)
            before = {m.topic: m.payload for m in seen.messages}
            assert f"Connected to MQTT broker {node_b}" not in process.output()

            stopping = asyncio.create_task(asyncio.to_thread(cluster.stop_node, A, kill=kill))
            await process.wait_for_output(f"Connected to MQTT broker {node_b}", 10)
            reconnected = time.monotonic()
            # The first reading published after the bridge logged its connection to node B.
            first = await _next_message(seen, len(seen.messages), "fover/meter/state")
            published = time.monotonic()
            lost = await stopping  # when the signal was sent
            failover = published - lost
            print(
                f"\n[failover] {'kill -9' if kill else 'SIGTERM'} of node A -> connected to node B in "
                f"<= {reconnected - lost:.3f} s, telemetry through node B in <= {failover:.3f} s "
                f"(reading {_reading(first.payload)})"
            )
            assert failover < FAILOVER_LIMIT_S, process.output()

            # A command sent through node B is handled.
            await seen.publish("fover/valve/set", "close")
            reply = await seen.wait_for(
                "fover/valve/state", lambda p: json.loads(p) == {"state": "close"}
            )
            assert reply.qos == 1
            later = await _next_message(seen, len(seen.messages), "fover/meter/state")
            latest_reading = _reading(later.payload)

            # Every device's latest state (and availability) is retained on node B.
            owned = sorted(t for t in before if t.endswith(("/state", "/availability")))
            retained = await _retained(host, port_b, owned)
            expected = {
                topic: payload
                for topic, payload in before.items()
                if topic.endswith("/availability")
                or topic in {"fover/boiler/state", "fover/pump/state"}
            }
            expected["fover/valve/state"] = reply.payload
            for topic, payload in expected.items():
                assert retained.get(topic) == payload, (topic, retained)
            assert _reading(retained["fover/meter/state"]) >= latest_reading
            assert set(owned) <= set(retained), set(owned) - set(retained)

            # Nothing published through node A before the loss is missing for good.
            readings = sorted({_reading(p) for p in seen.payloads("fover/meter/state")})
            gaps = sorted(set(range(readings[0], readings[-1] + 1)) - set(readings))
            print(
                f"[failover] node B saw meter readings {readings[0]}..{readings[-1]}, "
                f"missing: {gaps or 'none'}"
            )
            assert not gaps, gaps

            process.send_signal(signal.SIGTERM)
            await seen.wait_for("fover/meter/availability", lambda p: p == "offline")
        finally:
            code, output = finish(process)
        assert code == 0, output
