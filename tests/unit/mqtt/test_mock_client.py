"""The in-memory MQTT doubles: MockMqttClient and NullMqttClient."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from cosalette._mqtt.doubles import MockMqttClient, NullMqttClient
from cosalette._mqtt.port import MqttLifecycle, MqttMessageHandler, MqttPort

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def test_satisfies_the_ports() -> None:
    mock = MockMqttClient()
    assert isinstance(mock, MqttPort)
    assert isinstance(mock, MqttMessageHandler)
    assert not isinstance(mock, MqttLifecycle)
    assert isinstance(NullMqttClient(), MqttPort)


def test_records_publishes_and_subscriptions() -> None:
    mock = MockMqttClient()

    async def scenario() -> None:
        await mock.publish("a/state", "on")
        await mock.publish("a/state", "off", retain=True, qos=0)
        await mock.subscribe("a/set")

    run(scenario())
    assert mock.published == [("a/state", "on", False, 1), ("a/state", "off", True, 0)]
    assert mock.subscriptions == ["a/set"]
    assert mock.publish_count == 2
    assert mock.subscribe_count == 1


def test_dict_payload_is_compact_json() -> None:
    mock = MockMqttClient()
    run(mock.publish("a/state", {"temp": 21.5, "name": "küche", "ok": True}))
    assert mock.published[0][1] == '{"temp":21.5,"name":"küche","ok":true}'


def test_get_messages_for_filters_by_topic() -> None:
    mock = MockMqttClient()

    async def scenario() -> None:
        await mock.publish("a", "1")
        await mock.publish("b", "2", retain=True)
        await mock.publish("a", "3", qos=0)

    run(scenario())
    assert mock.get_messages_for("a") == [("1", False, 1), ("3", False, 0)]
    assert mock.get_messages_for("b") == [("2", True, 1)]
    assert mock.get_messages_for("c") == []


def test_deliver_awaits_every_callback_in_order() -> None:
    mock = MockMqttClient()
    seen: list[tuple[str, str, str]] = []

    async def first(topic: str, payload: str) -> None:
        await asyncio.sleep(0)
        seen.append(("first", topic, payload))

    async def second(topic: str, payload: str) -> None:
        seen.append(("second", topic, payload))

    mock.on_message(first)
    mock.on_message(second)
    run(mock.deliver("a/set", "ON"))
    assert seen == [("first", "a/set", "ON"), ("second", "a/set", "ON")]


def test_raise_on_publish_raises_and_records_nothing() -> None:
    mock = MockMqttClient()
    mock.raise_on_publish = ConnectionError("broker down")
    with pytest.raises(ConnectionError, match="broker down"):
        run(mock.publish("a", "1"))
    assert mock.published == []


def test_reset_clears_everything() -> None:
    mock = MockMqttClient()
    calls: list[str] = []

    async def callback(topic: str, payload: str) -> None:
        calls.append(topic)

    async def scenario() -> None:
        await mock.publish("a", "1")
        await mock.subscribe("a")
        mock.on_message(callback)
        mock.raise_on_publish = RuntimeError("x")
        mock.reset()
        await mock.deliver("a", "1")
        await mock.publish("b", "2")

    run(scenario())
    assert calls == []
    assert mock.published == [("b", "2", False, 1)]
    assert mock.subscriptions == []


def test_null_client_discards_everything(caplog: pytest.LogCaptureFixture) -> None:
    null = NullMqttClient()

    async def callback(topic: str, payload: str) -> None:
        raise AssertionError("never called")

    async def scenario() -> None:
        null.on_message(callback)
        await null.publish("a", {"x": 1}, retain=True)
        await null.subscribe("a/#")

    with caplog.at_level(logging.DEBUG, logger="cosalette._mqtt.doubles"):
        run(scenario())
    assert "discarded" in caplog.text
