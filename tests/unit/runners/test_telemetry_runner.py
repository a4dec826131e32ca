"""The telemetry loop of the guide: publish, skip, strategies, error isolation, recovery."""

import json
from collections.abc import Iterator
from datetime import datetime
from typing import cast

from pydantic import BaseModel

from cosalette import App, Every, OnChange
from cosalette.testing import AppHarness


class SensorError(Exception):
    pass


def _errors(harness: AppHarness, topic: str) -> list[dict[str, object]]:
    return [json.loads(p) for p, _, _ in harness.messages_for(topic)]


def _states(harness: AppHarness, topic: str) -> list[dict[str, object]]:
    return [json.loads(p) for p, _, _ in harness.messages_for(topic)]


async def test_first_result_published_immediately_retained_qos1_compact_json() -> None:
    harness = AppHarness.create(name="gas2mqtt")

    @harness.app.telemetry("counter", interval=60)
    async def counter() -> dict[str, object]:
        return {"impulses": 42}

    async with harness:
        assert harness.mqtt.get_messages_for("gas2mqtt/counter/state") == [
            ('{"impulses":42}', True, 1)
        ]
        assert "gas2mqtt/counter/set" not in harness.mqtt.subscriptions


async def test_result_published_every_interval() -> None:
    harness = AppHarness.create(name="gas2mqtt")
    calls = 0

    @harness.app.telemetry("counter", interval=60)
    async def counter() -> dict[str, object]:
        nonlocal calls
        calls += 1
        return {"impulses": calls}

    async with harness:
        await harness.advance_time(59.9)
        assert calls == 1
        await harness.advance_time(0.1)
        assert calls == 2
        await harness.advance_time(120)
        assert calls == 4
        assert _states(harness, "gas2mqtt/counter/state") == [
            {"impulses": 1},
            {"impulses": 2},
            {"impulses": 3},
            {"impulses": 4},
        ]


async def test_none_skips_the_cycle() -> None:
    harness = AppHarness.create(name="gas2mqtt")
    values: Iterator[dict[str, object] | None] = iter([{"n": 1}, None, {"n": 3}])

    @harness.app.telemetry("counter", interval=5)
    async def counter() -> dict[str, object] | None:
        return next(values)

    async with harness:
        await harness.advance_time(10)
        assert _states(harness, "gas2mqtt/counter/state") == [{"n": 1}, {"n": 3}]


async def test_root_device_publishes_on_app_topics() -> None:
    harness = AppHarness.create(name="weather2mqtt")

    @harness.app.telemetry(interval=30)
    async def read_sensor() -> dict[str, object]:
        return {"temperature": 21.5, "humidity": 58.0}

    async with harness:
        assert harness.messages_for("weather2mqtt/state") == [
            ('{"temperature":21.5,"humidity":58.0}', True, 1)
        ]
        harness.assert_published("weather2mqtt/availability", "online")
        assert harness.messages_for("weather2mqtt/read_sensor/state") == []


async def test_root_device_errors_go_to_global_topic_only() -> None:
    harness = AppHarness.create(name="weather2mqtt")

    @harness.app.telemetry(interval=30)
    async def read_sensor() -> dict[str, object]:
        raise OSError("bus timeout")

    async with harness:
        assert len(harness.messages_for("weather2mqtt/error")) == 1
        errors = [t for t, *_ in harness.mqtt.published if t.endswith("/error")]
        assert errors == ["weather2mqtt/error"]


async def test_pydantic_model_result_is_normalised() -> None:
    class Reading(BaseModel):
        celsius: float
        ok: bool

    harness = AppHarness.create(name="bridge")

    @harness.app.telemetry("temp", interval=10)
    async def temp() -> Reading:
        return Reading(celsius=20.5, ok=True)

    async with harness:
        assert harness.messages_for("bridge/temp/state") == [
            ('{"celsius":20.5,"ok":true}', True, 1)
        ]


# --- errors ---------------------------------------------------------------------------


async def test_identical_errors_published_once_then_new_type_then_recovery() -> None:
    harness = AppHarness.create(name="gas2mqtt")
    script: list[object] = [
        ValueError("Invalid impulse count: -1"),
        ValueError("Invalid impulse count: -2"),
        OSError("i2c gone"),
        OSError("i2c gone"),
        {"impulses": 5},
        ValueError("again"),
    ]

    @harness.app.telemetry("counter", interval=10)
    async def counter() -> dict[str, object]:
        item = script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item  # type: ignore[return-value]

    async with harness:
        device_errors = _errors(harness, "gas2mqtt/counter/error")
        assert len(device_errors) == 1
        first = device_errors[0]
        assert set(first) == {"error_type", "message", "device", "timestamp", "details"}
        assert first["message"] == "Invalid impulse count: -1"
        assert first["device"] == "counter"
        assert first["error_type"] == "error"
        assert first["details"] == {}
        datetime.fromisoformat(str(first["timestamp"]))
        assert _errors(harness, "gas2mqtt/error") == device_errors

        await harness.advance_time(10)  # same type: suppressed
        assert len(harness.messages_for("gas2mqtt/counter/error")) == 1
        await harness.advance_time(10)  # new type: published
        await harness.advance_time(10)  # same again: suppressed
        messages = [e["message"] for e in _errors(harness, "gas2mqtt/counter/error")]
        assert messages == ["Invalid impulse count: -1", "i2c gone"]

        await harness.advance_time(10)  # success
        harness.assert_state("counter", {"impulses": 5})
        await harness.advance_time(10)  # after recovery the same old type publishes again
        messages = [e["message"] for e in _errors(harness, "gas2mqtt/counter/error")]
        assert messages == ["Invalid impulse count: -1", "i2c gone", "again"]
        assert len(harness.messages_for("gas2mqtt/error")) == 3


async def test_loop_continues_after_errors() -> None:
    harness = AppHarness.create(name="gas2mqtt")
    calls = 0

    @harness.app.telemetry("counter", interval=10)
    async def counter() -> dict[str, object]:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise RuntimeError("flaky")
        return {"calls": calls}

    async with harness:
        await harness.advance_time(20)
        harness.assert_state("counter", {"calls": 3})


def _device_status(payload: str, device: str) -> str:
    return json.loads(payload)["devices"][device]["status"]  # type: ignore[no-any-return]


async def test_heartbeat_reports_error_then_ok_after_recovery() -> None:
    app = App("gas2mqtt", "1.0.0", heartbeat_interval=15)
    harness = AppHarness.create(app=app)
    fail = True

    @app.telemetry("counter", interval=10)
    async def counter() -> dict[str, object]:
        if fail:
            raise OSError("sensor unplugged")
        return {"impulses": 1}

    async with harness:
        await harness.advance_time(15)  # t=15 heartbeat after failures at t=0 and t=10
        assert _device_status(harness.messages_for("gas2mqtt/status")[-1][0], "counter") == "error"
        fail = False
        await harness.advance_time(15)  # t=20 success, t=30 heartbeat
        assert _device_status(harness.messages_for("gas2mqtt/status")[-1][0], "counter") == "ok"


async def test_error_type_map_maps_exception_classes() -> None:
    app = App("gas2mqtt", error_type_map={SensorError: "sensor_fault"})
    harness = AppHarness.create(app=app)
    errors: list[Exception] = [SensorError("no signal"), KeyError("x")]

    @app.telemetry("counter", interval=10)
    async def counter() -> dict[str, object]:
        raise errors.pop(0)

    async with harness:
        await harness.advance_time(10)
        types = [e["error_type"] for e in _errors(harness, "gas2mqtt/counter/error")]
        assert types == ["sensor_fault", "error"]
        assert app.error_type_map == {SensorError: "sensor_fault"}


# --- publish strategies -----------------------------------------------------------------


async def test_every_seconds_throttles_publishing() -> None:
    harness = AppHarness.create(name="bridge")
    calls = 0

    @harness.app.telemetry("temp", interval=10, publish=Every(seconds=30))
    async def temp() -> dict[str, object]:
        nonlocal calls
        calls += 1
        return {"n": calls}

    async with harness:
        await harness.advance_time(60)  # probes at 0,10,...,60
        assert calls == 7
        assert _states(harness, "bridge/temp/state") == [{"n": 1}, {"n": 4}, {"n": 7}]


async def test_every_n_publishes_every_nth_result() -> None:
    harness = AppHarness.create(name="bridge")
    calls = 0

    @harness.app.telemetry("temp", interval=1, publish=Every(n=3))
    async def temp() -> dict[str, object]:
        nonlocal calls
        calls += 1
        return {"n": calls}

    async with harness:
        await harness.advance_time(6)
        assert calls == 7
        assert _states(harness, "bridge/temp/state") == [{"n": 1}, {"n": 4}, {"n": 7}]


async def test_on_change_threshold_compares_with_last_published() -> None:
    harness = AppHarness.create(name="bridge")
    readings = iter([20.0, 20.2, 20.4, 20.7, 20.8, 19.0])

    @harness.app.telemetry("temp", interval=1, publish=OnChange(threshold=0.5))
    async def temp() -> dict[str, object] | None:
        return {"celsius": next(readings)}

    async with harness:
        await harness.advance_time(5)
        assert _states(harness, "bridge/temp/state") == [
            {"celsius": 20.0},
            {"celsius": 20.7},
            {"celsius": 19.0},
        ]


async def test_none_does_not_update_last_published_for_on_change() -> None:
    harness = AppHarness.create(name="bridge")
    readings: Iterator[dict[str, object] | None] = iter([{"v": 1}, None, {"v": 1}, {"v": 2}])

    @harness.app.telemetry("t", interval=1, publish=OnChange())
    async def t() -> dict[str, object] | None:
        return next(readings)

    async with harness:
        await harness.advance_time(3)
        assert _states(harness, "bridge/t/state") == [{"v": 1}, {"v": 2}]


class Never:
    """A strategy that never wants to publish."""

    def should_publish(
        self, current: dict[str, object], previous: dict[str, object] | None
    ) -> bool:
        return False

    def on_published(self) -> None:
        return None


async def test_first_result_is_published_whatever_the_strategy() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.telemetry("a", interval=1, publish=Never())
    async def a() -> dict[str, object]:
        return {"a": 1}

    @harness.app.telemetry("b", interval=1, publish=OnChange() & Every(seconds=300))
    async def b() -> dict[str, object]:
        return {"b": 1}

    async with harness:
        await harness.advance_time(3)
        assert harness.messages_for("bridge/a/state") == [('{"a":1}', True, 1)]
        assert harness.messages_for("bridge/b/state") == [('{"b":1}', True, 1)]


async def test_first_success_after_initial_errors_is_published() -> None:
    harness = AppHarness.create(name="bridge")
    calls = 0

    @harness.app.telemetry("a", interval=1, publish=Never())
    async def a() -> dict[str, object]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("warming up")
        return {"calls": calls}

    async with harness:
        await harness.advance_time(2)
        assert _states(harness, "bridge/a/state") == [{"calls": 2}]


async def test_enabled_callable_and_setting_ref_interval_use_run_settings() -> None:
    from cosalette import Settings, setting_ref

    class PollSettings(Settings):
        extra_enabled: bool = True
        poll: float = 60.0

    app = App("bridge", settings_class=PollSettings)
    harness = AppHarness.create(app=app, extra_enabled=False, poll=2.0)
    calls: list[str] = []

    @app.telemetry("extra", interval=1, enabled=lambda s: cast(PollSettings, s).extra_enabled)
    async def extra() -> dict[str, object]:
        calls.append("extra")
        return {}

    @app.telemetry("main", interval=setting_ref("poll"))
    async def main() -> dict[str, object]:
        calls.append("main")
        return {}

    async with harness:
        await harness.advance_time(4)
        assert calls == ["main", "main", "main"]
        assert harness.messages_for("bridge/extra/availability") == []


async def test_none_return_is_not_a_recovery() -> None:
    # The guide's loop `continue`s on None before the recovery branch, so an error, a skipped
    # cycle and the same error again publish one error and the device stays "error".
    app = App("gas2mqtt", heartbeat_interval=25)
    harness = AppHarness.create(app=app)
    script: list[object] = [OSError("not ready"), None, OSError("not ready")]

    @app.telemetry("counter", interval=10)
    async def counter() -> dict[str, object] | None:
        item = script.pop(0)
        if isinstance(item, Exception):
            raise item
        return None

    async with harness:
        await harness.advance_time(25)
        assert len(harness.messages_for("gas2mqtt/counter/error")) == 1
        assert _device_status(harness.messages_for("gas2mqtt/status")[-1][0], "counter") == "error"


async def test_one_strategy_object_shared_by_two_devices_keeps_separate_state() -> None:
    harness = AppHarness.create(name="bridge")
    shared = OnChange()

    @harness.app.telemetry("a", interval=1, publish=shared)
    async def a() -> dict[str, object]:
        return {"v": 1}

    @harness.app.telemetry("b", interval=1, publish=shared)
    async def b() -> dict[str, object]:
        return {"v": 1}

    async with harness:
        await harness.advance_time(3)
        assert harness.messages_for("bridge/a/state") == [('{"v":1}', True, 1)]
        assert harness.messages_for("bridge/b/state") == [('{"v":1}', True, 1)]
