"""MockMqttClient and the AppHarness helpers that tests elsewhere rely on."""

import asyncio
from pathlib import Path

import pytest

from cosalette import App, DeviceContext, MockMqttClient, Settings
from cosalette.testing import AppHarness, FakeClock, make_settings


async def test_mock_mqtt_client_records_and_delivers() -> None:
    mqtt = MockMqttClient()
    received: list[tuple[str, str]] = []

    async def on_message(topic: str, payload: str) -> None:
        received.append((topic, payload))

    mqtt.on_message(on_message)
    await mqtt.publish("a/state", {"x": 1, "y": [1, 2]}, retain=True)
    await mqtt.publish("a/raw", "hello")
    await mqtt.subscribe("a/set")
    await mqtt.deliver("a/set", "on")
    assert mqtt.published == [
        ("a/state", '{"x":1,"y":[1,2]}', True, 1),
        ("a/raw", "hello", False, 1),
    ]
    assert mqtt.get_messages_for("a/state") == [('{"x":1,"y":[1,2]}', True, 1)]
    assert mqtt.publish_count == 2
    assert mqtt.subscriptions == ["a/set"]
    assert received == [("a/set", "on")]


async def test_mock_mqtt_client_raise_on_publish_and_reset() -> None:
    mqtt = MockMqttClient()
    mqtt.raise_on_publish = ConnectionError("down")
    with pytest.raises(ConnectionError):
        await mqtt.publish("t", "p")
    assert mqtt.published == []

    async def cb(topic: str, payload: str) -> None:
        raise AssertionError("callbacks must be cleared by reset()")

    mqtt.on_message(cb)
    await mqtt.subscribe("t")
    mqtt.reset()
    assert mqtt.raise_on_publish is None
    assert mqtt.subscriptions == [] and mqtt.published == []
    await mqtt.deliver("t", "p")
    await mqtt.publish("t", "p")
    assert mqtt.publish_count == 1


def test_make_settings_applies_overrides_without_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    class MySettings(Settings):
        poll: float = 1.0

    monkeypatch.setenv("MQTT__HOST", "from-env")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("MQTT__PORT=1999\nPOLL=9\n")
    settings = make_settings(MySettings, poll=3.0, mqtt={"topic_prefix": "custom"})
    assert isinstance(settings, MySettings)
    assert settings.poll == 3.0
    assert settings.mqtt.topic_prefix == "custom"
    assert settings.mqtt.host == "localhost"
    assert settings.mqtt.port == 1883


async def test_harness_create_exposes_its_parts() -> None:
    harness = AppHarness.create(name="gas2mqtt", version="2.0.0")
    assert harness.app.name == "gas2mqtt"
    assert harness.app.version == "2.0.0"
    assert isinstance(harness.mqtt, MockMqttClient)
    assert isinstance(harness.clock, FakeClock)
    assert isinstance(harness.settings, Settings)
    assert isinstance(harness.shutdown_event, asyncio.Event)


async def test_harness_constructor_with_explicit_parts() -> None:
    app = App("bridge")
    mqtt = MockMqttClient()
    clock = FakeClock(start=5.0)
    event = asyncio.Event()
    harness = AppHarness(
        app=app, mqtt=mqtt, clock=clock, settings=make_settings(), shutdown_event=event
    )

    @app.telemetry("t", interval=10)
    async def t(ctx: DeviceContext) -> dict[str, object]:
        return {"now": ctx.clock.now()}

    async with harness:
        assert mqtt.get_messages_for("bridge/t/state") == [('{"now":5.0}', True, 1)]
    assert event.is_set()


async def test_topic_prefix_setting_replaces_the_app_name() -> None:
    harness = AppHarness.create(name="bridge", mqtt={"topic_prefix": "site1"})

    @harness.app.command("valve")
    async def valve(payload: str) -> dict[str, object]:
        return {"p": payload}

    async with harness:
        harness.assert_subscribed("site1/valve/set")
        await harness.inject_command("valve", "open")
        harness.assert_state("site1/valve/state", {"p": "open"})
        harness.assert_published("site1/status")


async def test_run_blocks_until_trigger_shutdown() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.telemetry("t", interval=10)
    async def t() -> dict[str, object]:
        harness.trigger_shutdown()
        return {"ok": True}

    await harness.run()
    harness.assert_state("t", {"ok": True}, count=1)
    assert harness.messages_for("bridge/status")[-1] == ("offline", True, 1)


async def test_assertion_helpers() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.telemetry("t", interval=10)
    async def t() -> dict[str, object]:
        return {"a": 1, "b": 2}

    async with harness:
        harness.assert_published("bridge/t/state", contains={"a": 1})
        harness.assert_published("bridge/t/state", contains='"b":2', count=1)
        harness.assert_state("t", {"a": 1, "b": 2}, count=1)
        assert await harness.wait_for_publish_count("bridge/t/state", 1) == [
            ('{"a":1,"b":2}', True, 1)
        ]
        harness.assert_state("t", {"a": 1})  # a subset of the state is enough
        with pytest.raises(AssertionError):
            harness.assert_state("t", {"a": 2})
        with pytest.raises(AssertionError):
            harness.assert_published("bridge/t/state", count=2)
        with pytest.raises(AssertionError):
            harness.assert_published("bridge/nothing")
        with pytest.raises(AssertionError):
            harness.assert_subscribed("bridge/t/set")
