"""The announcer: registry at every connect, discovery configs, birth message, stale configs."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from pydantic import BaseModel

import cosalette
from cosalette._wiring.announce import Announcer, registry_payload
from cosalette.testing import AppHarness, MockMqttClient


class MeterReading(BaseModel):
    kwh: float


def make_app() -> cosalette.App:
    app = cosalette.App("annc", "2.0")

    @app.telemetry("meter", interval=60)
    async def meter() -> MeterReading:  # the return annotation describes the state
        return MeterReading(kwh=1.5)

    @app.telemetry("shapeless", interval=60)
    async def shapeless() -> dict[str, float]:  # no known fields: no entity
        return {"x": 1.0}

    @app.command("relay")
    async def relay(payload: str) -> dict[str, str]:
        return {"state": payload}

    return app


def test_registry_leaves_out_what_the_app_receives() -> None:
    document = make_app().asyncapi()
    assert "relayCommand" in document["channels"]
    registry = json.loads(registry_payload(document))
    assert sorted(registry["channels"]) == ["meterState", "relayState", "shapelessState"]
    assert "receiveRelayCommand" not in registry["operations"]
    assert registry["info"] == document["info"]
    assert ', "' not in registry_payload(document) and '": ' not in registry_payload(document)


def test_registry_of_an_app_that_only_receives_has_no_channels() -> None:
    app = cosalette.App("quiet", "1")

    @app.command("go")
    async def go(payload: str) -> None:
        pass

    assert json.loads(registry_payload(app.asyncapi())) == {
        "asyncapi": "3.0.0",
        "info": app.asyncapi()["info"],
    }


async def test_a_run_publishes_the_registry_retained() -> None:
    async with AppHarness.create(app=make_app()) as harness:
        messages = harness.mqtt.get_messages_for("annc/_meta/registry")
    assert len(messages) == 1
    payload, retain, qos = messages[0]
    assert retain and qos == 1
    assert json.loads(payload)["info"]["title"] == "annc"


async def test_discovery_is_off_by_default_and_on_with_the_setting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="cosalette")
    async with AppHarness.create(app=make_app()) as harness:
        assert not [t for t, *_ in harness.mqtt.published if t.startswith("homeassistant/")]
        assert "homeassistant/status" not in harness.mqtt.subscriptions
    on = {"discovery": True}
    async with AppHarness.create(app=make_app(), homeassistant=on) as harness:
        configs = {t for t, _, r, _ in harness.mqtt.published if t.startswith("homeassistant/")}
        assert "homeassistant/status" in harness.mqtt.subscriptions
    assert configs == {
        "homeassistant/sensor/annc/meter_kwh/config",
        "homeassistant/text/annc/relay_command/config",
    }
    assert "shapeless" in caplog.text and "state_model" in caplog.text  # logged at start


def announcer(mqtt: Any, sleeps: list[float], entities: list[dict[str, Any]]) -> Announcer:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return Announcer(
        mqtt,
        prefix="annc",
        registry='{"asyncapi":"3.0.0"}',
        entities=entities,
        ha_prefix="homeassistant",
        node="annc",
        sleep=sleep,
    )


TOPIC = "homeassistant/sensor/annc/meter_kwh/config"
ENTITY: dict[str, Any] = {"topic": TOPIC, "config": {"name": "kwh"}}


async def test_birth_message_reannounces_after_a_jitter_with_the_states() -> None:
    mqtt = MockMqttClient()
    sleeps: list[float] = []
    subject = announcer(mqtt, sleeps, [ENTITY])
    await mqtt.publish("annc/meter/state", {"kwh": 2}, retain=True)
    await mqtt.publish("annc/meter/availability", "online", retain=True)
    await mqtt.publish("annc/error", "boom")  # not retained: not repeated
    start = len(mqtt.published)
    await subject.deliver("homeassistant/status", "offline")
    await subject.deliver("homeassistant/status", "online")
    await asyncio.gather(*subject._tasks)
    assert len(sleeps) == 1 and 0.0 < sleeps[0] <= 0.5
    assert [(t, r) for t, _, r, _ in mqtt.published[start:]] == [
        ("homeassistant/sensor/annc/meter_kwh/config", True),
        ("annc/meter/state", True),
        ("annc/meter/availability", True),
    ]
    await subject.close()


class ScanningBroker(MockMqttClient):
    """Answers the discovery scan like a broker: retained configs, then the sync message."""

    def __init__(self, retained: list[str]) -> None:
        super().__init__()
        self.retained = retained
        self.announcer: Announcer | None = None

    async def publish(
        self, topic: str, payload: str | dict[str, Any], *, retain: bool = False, qos: int = 1
    ) -> None:
        await super().publish(topic, payload, retain=retain, qos=qos)
        if topic.endswith("/_meta/discovery_sync") and self.announcer is not None:
            for config in self.retained:
                await self.announcer.deliver(config, '{"name": "old"}')
            assert isinstance(payload, str)
            await self.announcer.deliver(topic, payload)


async def test_first_connect_clears_configs_no_entity_has() -> None:
    stale = "homeassistant/sensor/annc/gone_kwh/config"
    mqtt = ScanningBroker([TOPIC, stale])
    subject = announcer(mqtt, [], [ENTITY])
    mqtt.announcer = subject
    await subject.on_connect()
    await asyncio.gather(*subject._tasks)
    cleared = [(t, p) for t, p, r, _ in mqtt.published if r and p == ""]
    assert cleared == [(stale, "")]
    assert mqtt.subscriptions == []  # the scan unsubscribed
    mqtt.published.clear()
    await subject.on_connect()  # later connects announce, they do not scan again
    assert not subject._tasks
    assert [t for t, *_ in mqtt.published] == ["annc/_meta/registry", TOPIC]
