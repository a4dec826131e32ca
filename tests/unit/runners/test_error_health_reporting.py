"""ErrorPayload / ErrorPublisher / build_error_payload and HealthReporter / build_will_config."""

import json
from datetime import UTC, datetime

from cosalette import (
    DeviceStatus,
    ErrorPayload,
    ErrorPublisher,
    HealthReporter,
    HeartbeatPayload,
    WillConfig,
    build_error_payload,
    build_will_config,
)
from cosalette.testing import FakeClock, MockMqttClient

FIXED = datetime(2026, 2, 14, 12, 0, 0, tzinfo=UTC)


class GpioError(Exception):
    pass


class SubGpioError(GpioError):
    pass


# --- errors ---------------------------------------------------------------------------


def test_build_error_payload_fields() -> None:
    payload = build_error_payload(
        GpioError("pin 17 stuck"),
        error_type_map={GpioError: "gpio"},
        device="blind",
        details={"pin": 17},
        clock=lambda: FIXED,
    )
    assert payload == ErrorPayload(
        error_type="gpio",
        message="pin 17 stuck",
        device="blind",
        timestamp="2026-02-14T12:00:00+00:00",
        details={"pin": 17},
    )


def test_build_error_payload_defaults_and_exact_class_lookup() -> None:
    payload = build_error_payload(SubGpioError("x"), error_type_map={GpioError: "gpio"})
    assert payload.error_type == "error"
    assert payload.device is None
    assert payload.details == {}
    assert datetime.fromisoformat(payload.timestamp).tzinfo is not None


def test_error_payload_to_json_is_compact() -> None:
    payload = ErrorPayload("error", "boom", "counter", "2026-01-01T00:00:00+00:00")
    assert payload.to_json() == (
        '{"error_type":"error","message":"boom","device":"counter",'
        '"timestamp":"2026-01-01T00:00:00+00:00","details":{}}'
    )


async def test_error_publisher_publishes_global_and_device_topics() -> None:
    mqtt = MockMqttClient()
    publisher = ErrorPublisher(mqtt, "velux2mqtt", {GpioError: "gpio"}, clock=lambda: FIXED)
    await publisher.publish(GpioError("stuck"), device="blind")
    topics = [t for t, *_ in mqtt.published]
    assert topics == ["velux2mqtt/error", "velux2mqtt/blind/error"]
    body = json.loads(mqtt.published[0][1])
    assert body == {
        "error_type": "gpio",
        "message": "stuck",
        "device": "blind",
        "timestamp": "2026-02-14T12:00:00+00:00",
        "details": {},
    }
    assert mqtt.published[0][1] == mqtt.published[1][1]


async def test_error_publisher_root_device_and_no_device_use_global_topic_only() -> None:
    mqtt = MockMqttClient()
    publisher = ErrorPublisher(mqtt, "app")
    await publisher.publish(ValueError("a"), device="root", is_root=True)
    await publisher.publish(ValueError("b"))
    assert [t for t, *_ in mqtt.published] == ["app/error", "app/error"]


async def test_error_publisher_never_raises() -> None:
    mqtt = MockMqttClient(raise_on_publish=ConnectionError("broker down"))
    publisher = ErrorPublisher(mqtt, "app")
    await publisher.publish(ValueError("x"), device="d")
    assert mqtt.published == []


# --- health ---------------------------------------------------------------------------


def test_build_will_config() -> None:
    assert build_will_config("velux2mqtt") == WillConfig(
        topic="velux2mqtt/status", payload="offline", qos=1, retain=True
    )


def test_heartbeat_payload_to_json() -> None:
    payload = HeartbeatPayload("online", 12.5, "1.0.0", {"blind": DeviceStatus()})
    assert json.loads(payload.to_json()) == {
        "status": "online",
        "uptime_s": 12.5,
        "version": "1.0.0",
        "devices": {"blind": {"status": "ok"}},
    }
    assert " " not in payload.to_json()
    assert DeviceStatus("error").to_dict() == {"status": "error"}


async def test_health_reporter_availability_and_heartbeat() -> None:
    mqtt = MockMqttClient()
    clock = FakeClock(start=100.0)
    reporter = HealthReporter(mqtt, "app", "1.0.0", clock)
    await reporter.publish_device_available("blind")
    await reporter.publish_device_available("root", is_root=True)
    reporter.set_device_status("blind", "error")
    clock.advance(30)
    await reporter.publish_heartbeat()
    assert mqtt.get_messages_for("app/blind/availability") == [("online", True, 1)]
    assert mqtt.get_messages_for("app/availability") == [("online", True, 1)]
    beat = json.loads(mqtt.get_messages_for("app/status")[0][0])
    assert beat == {
        "status": "online",
        "uptime_s": 30.0,
        "version": "1.0.0",
        "devices": {"blind": {"status": "error"}, "root": {"status": "ok"}},
    }


async def test_health_reporter_unavailable_device_leaves_the_heartbeat() -> None:
    # api-reference: publish_device_unavailable "also removes the device from internal tracking"
    mqtt = MockMqttClient()
    reporter = HealthReporter(mqtt, "app", "1.0.0", FakeClock())
    await reporter.publish_device_available("blind")
    await reporter.publish_device_available("pump")
    await reporter.publish_device_unavailable("blind")
    await reporter.publish_heartbeat()
    assert mqtt.get_messages_for("app/blind/availability")[-1] == ("offline", True, 1)
    beat = json.loads(mqtt.get_messages_for("app/status")[-1][0])
    assert beat["devices"] == {"pump": {"status": "ok"}}


async def test_health_reporter_shutdown_publishes_offline_everywhere() -> None:
    mqtt = MockMqttClient()
    reporter = HealthReporter(mqtt, "app", "1.0.0", FakeClock())
    await reporter.publish_device_available("blind")
    await reporter.publish_device_available("root", is_root=True)
    reporter.set_device_status("pump")
    mqtt.published.clear()
    await reporter.shutdown()
    assert sorted(mqtt.published) == sorted(
        [
            ("app/blind/availability", "offline", True, 1),
            ("app/availability", "offline", True, 1),
            ("app/pump/availability", "offline", True, 1),
            ("app/status", "offline", True, 1),
        ]
    )
    assert mqtt.published[-1] == ("app/status", "offline", True, 1)
    mqtt.published.clear()
    await reporter.publish_heartbeat()
    assert json.loads(mqtt.published[0][1])["devices"] == {}


async def test_health_reporter_never_raises() -> None:
    mqtt = MockMqttClient(raise_on_publish=ConnectionError("down"))
    reporter = HealthReporter(mqtt, "app", "1.0.0", FakeClock())
    await reporter.publish_device_available("blind")
    await reporter.publish_heartbeat()
    await reporter.shutdown()
    assert mqtt.published == []
