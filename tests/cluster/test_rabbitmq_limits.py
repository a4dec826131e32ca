"""What RabbitMQ 3.10's MQTT plugin lacks, checked so the list in docs/scaling.md stays true.

Each test asserts the limitation as observed; one that starts failing means a newer RabbitMQ
has lifted it and the docs should say so.
"""

from __future__ import annotations

import time

import aiomqtt
import pytest
from _broker import Collector
from _rabbitmq import RabbitCluster


async def test_mqtt_5_is_refused(rabbit_cluster: RabbitCluster) -> None:
    client = aiomqtt.Client(
        rabbit_cluster.host,
        rabbit_cluster.node(1).mqtt_port,
        protocol=aiomqtt.ProtocolVersion.V5,
        timeout=5,
    )
    with pytest.raises(aiomqtt.MqttError):
        async with client:
            pass


async def test_qos_2_is_granted_as_qos_1(rabbit_cluster: RabbitCluster) -> None:
    async with aiomqtt.Client(rabbit_cluster.host, rabbit_cluster.node(1).mqtt_port) as client:
        granted = await client.subscribe("limits/qos2", qos=2)
    assert [code if isinstance(code, int) else code.value for code in granted] == [1]


async def test_retained_messages_stay_on_the_node_they_were_published_to(
    rabbit_cluster: RabbitCluster,
) -> None:
    host = rabbit_cluster.host
    port1, port2 = rabbit_cluster.node(1).mqtt_port, rabbit_cluster.node(2).mqtt_port
    topic = f"limits/retained/{time.monotonic_ns()}"
    async with Collector(host, port2) as live:
        await live.subscribe(topic)
        async with Collector(host, port1) as publisher:
            await publisher.publish(topic, "kept", retain=True)
        # Live delivery crosses nodes (QoS 1) ...
        assert (await live.wait_for(topic)).payload == "kept"

    async def retained_on(port: int, pattern: str = topic) -> list[str]:
        marker = f"limits/marker/{time.monotonic_ns()}"
        async with Collector(host, port) as later:
            await later.subscribe(pattern, marker)
            await later.publish(marker, "end")
            await later.wait_for(marker)
            return [m.payload for m in later.received(topic) if m.retain]

    # ... but the retained copy is only on node 1: a subscriber on node 2 is not given it.
    assert await retained_on(port1) == ["kept"]
    assert await retained_on(port2) == []
    # A wildcard subscription is given no retained message, even on node 1.
    assert await retained_on(port1, "limits/retained/#") == []
    async with Collector(host, port1) as cleaner:
        await cleaner.publish(topic, "", retain=True)
