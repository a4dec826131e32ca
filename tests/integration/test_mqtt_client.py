"""MqttClient against a real mosquitto: round trips, will, TCP_NODELAY, outage, auth and TLS."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest
from _broker import AuthTlsBroker, Collector, MosquittoBroker, eventually, free_port

from cosalette._mqtt.client import MqttClient
from cosalette._mqtt.port import MqttLifecycle, MqttMessageHandler, MqttPort, WillConfig
from cosalette._settings import MqttSettings

pytestmark = pytest.mark.integration

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def settings_for(host: str, port: int, **overrides: Any) -> MqttSettings:
    values: dict[str, Any] = {
        "host": host,
        "port": port,
        "reconnect_interval": 0.2,
        "reconnect_max_interval": 1.0,
        "client_id": "",
        "topic_prefix": "it",
    }
    values.update(overrides)
    return MqttSettings(**values)


class Inbox:
    """Collects ``(topic, payload)`` from MqttClient.on_message."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    async def __call__(self, topic: str, payload: str) -> None:
        self.items.append((topic, payload))

    async def wait_for(self, item: tuple[str, str], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        await eventually(lambda: item in self.items, timeout, f"{item} in {self.items}")


def test_implements_the_ports(broker: MosquittoBroker) -> None:
    client = MqttClient(settings=settings_for(broker.host, broker.port), will=None)
    assert isinstance(client, MqttPort)
    assert isinstance(client, MqttLifecycle)
    assert isinstance(client, MqttMessageHandler)
    assert re.fullmatch(r"it-[^-].*-[0-9a-f]{8}", client.client_id)  # <prefix>-<host>-<hex>
    assert not client.is_connected


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_publish_subscribe_round_trip(
    broker: MosquittoBroker, mqtt_collector: Callable[..., Collector], protocol: str
) -> None:
    async def scenario() -> None:
        client = MqttClient(settings_for(broker.host, broker.port, protocol=protocol))
        inbox = Inbox()
        calls = 0

        async def flaky(topic: str, payload: str) -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise RuntimeError("callback bug")

        client.on_message(flaky)
        client.on_message(inbox)
        await client.subscribe(f"rt{protocol}/in")
        await client.start()
        await client.start()  # a second start is a no-op
        assert await client.wait_connected(5)
        assert client.is_connected
        async with mqtt_collector() as collector:
            await collector.subscribe(f"rt{protocol}/out")
            await client.publish(f"rt{protocol}/out", "hello")
            message = await collector.wait_for(f"rt{protocol}/out")
            assert (message.payload, message.qos, message.retain) == ("hello", 1, False)

            await collector.publish(f"rt{protocol}/in", "first")  # the flaky callback raises
            await collector.client.publish(f"rt{protocol}/in", b"\xffbad", qos=1)
            await inbox.wait_for((f"rt{protocol}/in", "\ufffdbad"))
            assert inbox.items == [(f"rt{protocol}/in", "first"), (f"rt{protocol}/in", "\ufffdbad")]
            assert client.is_connected
        await client.stop()
        await client.stop()  # idempotent
        assert not client.is_connected

    run(scenario())


def test_retained_dict_payload_is_compact_json_and_stop_flushes(
    broker: MosquittoBroker, mqtt_collector: Callable[..., Collector]
) -> None:
    async def scenario() -> None:
        client = MqttClient(settings_for(broker.host, broker.port))
        await client.publish("ret/before-start", "queued", retain=True)  # buffered until connect
        await client.start()
        assert await client.wait_connected(5)
        for i in range(50):
            await client.publish("ret/bulk", {"i": i})
        await client.publish("ret/state", {"temp": 21.5, "unit": "°C", "ok": True}, retain=True)
        await client.stop()  # flushes what is queued before the clean disconnect
        async with mqtt_collector() as collector:
            await collector.subscribe("ret/state", "ret/before-start")
            message = await collector.wait_for("ret/state")
            assert message.payload == '{"temp":21.5,"unit":"°C","ok":true}'
            assert message.retain
            assert (await collector.wait_for("ret/before-start")).payload == "queued"
            # Clear the retained messages so later runs start clean.
            await collector.publish("ret/state", "", retain=True)
            await collector.publish("ret/before-start", "", retain=True)

    run(scenario())


def test_many_publishes_arrive_in_order(
    broker: MosquittoBroker, mqtt_collector: Callable[..., Collector]
) -> None:
    async def scenario() -> None:
        client = MqttClient(settings_for(broker.host, broker.port))
        await client.start()
        assert await client.wait_connected(5)
        async with mqtt_collector() as collector:
            await collector.subscribe("bulk/n")
            for i in range(500):
                await client.publish("bulk/n", str(i))
            await collector.wait_for("bulk/n", lambda p: p == "499", timeout=10)
            assert collector.payloads("bulk/n") == [str(i) for i in range(500)]
        await client.stop()

    run(scenario())


def test_bounded_outbox_while_disconnected_drops_oldest(
    broker: MosquittoBroker,
    mqtt_collector: Callable[..., Collector],
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        client = MqttClient(settings_for(broker.host, broker.port, outbox_size=3))
        async with mqtt_collector() as collector:
            await collector.subscribe("bounded/#")
            for i in range(5):  # not started yet: everything waits in the outbox
                await client.publish("bounded/n", str(i))
            await client.publish("bounded/r", "old", retain=True)
            await client.publish("bounded/r", "new", retain=True)
            await client.start()
            await collector.wait_for("bounded/r")
            await collector.wait_for("bounded/n", lambda p: p == "4")
            await client.stop()
            assert collector.payloads("bounded/n") == ["2", "3", "4"]  # retained do not count
            assert collector.payloads("bounded/r") == ["new"]
            await collector.publish("bounded/r", "", retain=True)

    with caplog.at_level(logging.WARNING, logger="cosalette._mqtt.client"):
        run(scenario())
    drops = [r.getMessage() for r in caplog.records if "outbox full" in r.getMessage()]
    assert len(drops) == 2, drops  # once while unreachable, then the total when connected
    assert "while the broker is unreachable" in drops[0]
    assert "dropped 2" in drops[1]
    assert "2 in total" in drops[-1]


def test_stop_while_the_broker_is_unreachable_is_prompt() -> None:
    async def scenario() -> None:
        client = MqttClient(settings_for("127.0.0.1", free_port()))
        await client.start()
        await client.publish("nowhere/x", "queued")  # returns at once, nothing to connect to
        assert not await client.wait_connected(0.3)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await client.stop()
        assert loop.time() - started < 1.0
        assert not client.is_connected

    run(scenario())


def test_tcp_nodelay_is_set(broker: MosquittoBroker) -> None:
    async def scenario() -> None:
        client = MqttClient(settings_for(broker.host, broker.port))
        await client.start()
        assert await client.wait_connected(5)
        sock = client._socket()
        assert sock is not None
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        await client.stop()
        assert client._socket() is None

    run(scenario())


def test_will_on_abrupt_loss_but_not_on_clean_stop(
    broker: MosquittoBroker, mqtt_collector: Callable[..., Collector]
) -> None:
    topic = "will/availability"

    async def scenario() -> None:
        client = MqttClient(
            settings_for(broker.host, broker.port), will=WillConfig(topic, "offline")
        )

        async def online() -> None:
            await client.publish(topic, "online", retain=True)

        client.on_connect(online)
        async with mqtt_collector() as collector:
            await collector.subscribe(topic)
            await client.start()
            await collector.wait_for(topic, lambda p: p == "online")

            # Cut the TCP connection without an MQTT DISCONNECT: the broker sends the will.
            sock = client._socket()
            assert sock is not None
            collector.clear()
            sock.shutdown(socket.SHUT_RDWR)
            will = await collector.wait_for(topic)
            assert will.payload == "offline"

            # The client reconnects by itself and announces itself again.
            await collector.wait_for(topic, lambda p: p == "online")
            await eventually(lambda: client.is_connected, what="reconnect")

            collector.clear()
            await client.stop()
            # Two broker round trips after the clean disconnect: a will would be out by now.
            await collector.subscribe("will/sentinel")
            await collector.publish("will/sentinel", "1")
            await collector.wait_for("will/sentinel")
            with pytest.raises(AssertionError):
                await collector.wait_for(topic, timeout=0.3)
            assert collector.payloads(topic) == []
            await collector.publish(topic, "", retain=True)

    run(scenario())


def test_broker_outage_reconnect_resubscribe_and_flush(
    broker: MosquittoBroker,
    mqtt_collector: Callable[..., Collector],
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        client = MqttClient(settings_for(broker.host, broker.port))
        inbox = Inbox()
        client.on_message(inbox)
        connects = 0
        collector_ready = asyncio.Event()

        async def on_connect() -> None:
            nonlocal connects
            connects += 1
            if connects > 1:  # hold the flush until the test's subscriber is back
                await asyncio.wait_for(collector_ready.wait(), 10)
            await client.publish("out/availability", "online", retain=True)

        client.on_connect(on_connect)
        await client.subscribe("out/cmd")
        await client.start()
        assert await client.wait_connected(5)

        broker.stop()
        await eventually(lambda: not client.is_connected, what="disconnect noticed")
        for value in ("1", "2", "3"):
            await client.publish("out/state", value, retain=True)
        await client.publish("out/event", "e1")
        await client.publish("out/event", {"n": 2})
        await asyncio.sleep(3)  # the outage itself
        broker.start()

        async with mqtt_collector() as collector:
            await collector.subscribe("out/#")
            collector_ready.set()
            await collector.wait_for("out/event", lambda p: p == '{"n":2}', timeout=10)
            assert client.is_connected
            assert collector.payloads("out/state") == ["3"]
            assert collector.payloads("out/event") == ["e1", '{"n":2}']
            order = [(m.topic, m.payload) for m in collector.messages]
            assert order.index(("out/availability", "online")) < order.index(("out/state", "3"))

            await collector.publish("out/cmd", "after-outage")
            await inbox.wait_for(("out/cmd", "after-outage"))
            await collector.publish("out/state", "", retain=True)
            await collector.publish("out/availability", "", retain=True)
        await client.stop()
        assert connects == 2

    with caplog.at_level(logging.INFO, logger="cosalette._mqtt.client"):
        run(scenario())
    texts = [r.getMessage() for r in caplog.records]
    assert any(t.startswith("Lost connection to MQTT broker") for t in texts), texts
    assert sum(t.startswith("Connected to MQTT broker") for t in texts) == 2
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings and all(r.exc_info is None for r in warnings)


def test_username_and_password(mosquitto_auth_tls: AuthTlsBroker) -> None:
    b = mosquitto_auth_tls

    async def scenario() -> None:
        client = MqttClient(settings_for(b.host, b.port, username=b.username, password=b.password))
        await client.start()
        assert await client.wait_connected(5)
        async with Collector(b.host, b.port, username=b.username, password=b.password) as c:
            await c.subscribe("auth/x")
            await client.publish("auth/x", "authenticated")
            assert (await c.wait_for("auth/x")).payload == "authenticated"
        await client.stop()

    run(scenario())


def test_tls_with_username_and_password(mosquitto_auth_tls: AuthTlsBroker) -> None:
    b = mosquitto_auth_tls
    settings = settings_for(
        b.host,
        b.tls_port,
        username=b.username,
        password=b.password,
        tls=True,
        tls_ca_cert=str(b.ca_cert),
    )

    async def scenario() -> None:
        client = MqttClient(settings)
        inbox = Inbox()
        client.on_message(inbox)
        await client.subscribe("tls/in")
        await client.start()
        assert await client.wait_connected(5)
        sock = client._socket()
        assert isinstance(sock, ssl.SSLSocket)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        context = ssl.create_default_context(cafile=str(b.ca_cert))
        async with Collector(
            b.host,
            b.tls_port,
            username=b.username,
            password=b.password,
            client_kwargs={"tls_context": context},
        ) as c:
            await c.subscribe("tls/out")
            await client.publish("tls/out", {"secure": True})
            assert (await c.wait_for("tls/out")).payload == '{"secure":true}'
            await c.publish("tls/in", "over tls")
            await inbox.wait_for(("tls/in", "over tls"))
        await client.stop()

    run(scenario())


def test_tls_rejects_an_unknown_ca(mosquitto_auth_tls: AuthTlsBroker) -> None:
    b = mosquitto_auth_tls
    settings = settings_for(b.host, b.tls_port, username=b.username, password=b.password, tls=True)

    async def scenario() -> None:
        client = MqttClient(settings)  # system CAs only: the self-signed CA is unknown
        await client.start()
        assert not await client.wait_connected(1.0)
        await client.stop()

    run(scenario())


def test_wrong_password_logs_a_clear_error_and_keeps_retrying(
    mosquitto_auth_tls: AuthTlsBroker, caplog: pytest.LogCaptureFixture
) -> None:
    b = mosquitto_auth_tls
    secret = "definitely-wrong"
    settings = settings_for(
        b.host,
        b.port,
        username=b.username,
        password=secret,
        reconnect_interval=0.05,
        reconnect_max_interval=0.1,
    )

    def refusals() -> list[logging.LogRecord]:
        return [
            r for r in caplog.records if r.levelno == logging.ERROR and "refused" in r.getMessage()
        ]

    async def scenario() -> None:
        client = MqttClient(settings)
        await client.start()
        await eventually(lambda: len(refusals()) >= 3, what="three refused attempts")
        assert not client.is_connected
        assert client._task is not None and not client._task.done()
        await client.stop()

    with caplog.at_level(logging.INFO, logger="cosalette._mqtt.client"):
        run(scenario())
    message = refusals()[0].getMessage()
    assert b.host in message and str(b.port) in message
    assert "username" in message and "password" in message
    assert all(r.exc_info is None for r in refusals())
    assert secret not in caplog.text
