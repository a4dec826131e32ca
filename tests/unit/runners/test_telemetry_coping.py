"""Retry, backoff, circuit breaker and timeout on telemetry, on the FakeClock (guide examples)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import cosalette
from cosalette import (
    App,
    CircuitBreaker,
    DeviceContext,
    DeviceStore,
    ExponentialBackoff,
    FixedBackoff,
    LinearBackoff,
    MemoryStore,
    OnChange,
    SaveOnPublish,
)
from cosalette.testing import AppHarness


class Flaky:
    """A sensor that fails *failures* times with *exc*, then reads 21.5."""

    def __init__(self, failures: int, exc: Exception | None = None) -> None:
        self.failures = failures
        self.exc = exc or OSError("BLE timeout")
        self.calls: list[float] = []

    async def read(self, ctx: DeviceContext) -> dict[str, object]:
        self.calls.append(ctx.clock.now())
        if self.failures > 0:
            self.failures -= 1
            raise self.exc
        return {"temperature": 21.5}


def _app() -> App:
    return App("ble2mqtt", heartbeat_interval=None, store=None)


def _errors(harness: AppHarness, device: str = "sensor") -> list[dict[str, Any]]:
    return [json.loads(p) for p, _, _ in harness.messages_for(f"ble2mqtt/{device}/error")]


async def test_retry_recovers_within_a_cycle_and_publishes_no_error() -> None:
    app = _app()
    sensor = Flaky(2)
    app.add_telemetry("sensor", sensor.read, interval=30, retry=3, backoff=FixedBackoff(2.0))
    harness = AppHarness(app=app)
    async with harness:
        await harness.advance_time(10)
    assert harness.messages_for("ble2mqtt/sensor/state")[0][0] == '{"temperature":21.5}'
    assert _errors(harness) == []
    assert len(sensor.calls) == 3
    gaps = [b - a for a, b in zip(sensor.calls, sensor.calls[1:], strict=False)]
    assert all(1.6 <= g <= 2.4 for g in gaps), gaps  # 2 s ± 20 % jitter


async def test_only_the_final_failure_of_a_cycle_is_published_once() -> None:
    app = _app()
    sensor = Flaky(100)
    app.add_telemetry(
        "sensor", sensor.read, interval=30, retry=2, backoff=LinearBackoff(step=1.0, max_delay=5)
    )
    harness = AppHarness(app=app)
    async with harness:
        await harness.advance_time(100)
    errors = _errors(harness)
    assert [e["message"] for e in errors] == ["BLE timeout"]  # deduplicated across cycles
    assert len(sensor.calls) >= 6  # retry + 1 attempts per cycle


async def test_non_matching_exceptions_are_not_retried() -> None:
    app = _app()
    sensor = Flaky(1, ValueError("bad frame"))
    app.add_telemetry("sensor", sensor.read, interval=30, retry=3)
    harness = AppHarness(app=app)
    async with harness:
        await harness.advance_time(1)
    assert len(sensor.calls) == 1
    assert [e["message"] for e in _errors(harness)] == ["bad frame"]


async def test_the_circuit_opens_skips_quietly_and_a_probe_closes_it() -> None:
    app = App("ble2mqtt", store=None, heartbeat_interval=60)
    sensor = Flaky(5)
    app.add_telemetry(
        "sensor",
        sensor.read,
        interval=60,
        retry=0,
        circuit_breaker=CircuitBreaker(threshold=2),
    )
    harness = AppHarness(app=app)
    async with harness:
        await harness.advance_time(60)  # two failed cycles: the circuit opens
        calls = len(sensor.calls)
        await harness.advance_time(60)  # skipped: no call, no publish
        assert len(sensor.calls) == calls
        beat = json.loads(harness.messages_for("ble2mqtt/status")[-1][0])
        assert beat["devices"]["sensor"]["status"] == "circuit_open"
        sensor.failures = 0
        await harness.advance_time(60)  # the half-open probe succeeds
    assert harness.messages_for("ble2mqtt/sensor/state")[-1][0] == '{"temperature":21.5}'
    assert len(_errors(harness)) == 1


async def test_a_timeout_runs_on_the_app_clock_and_is_retried() -> None:
    app = _app()
    calls: list[float] = []

    async def slow(ctx: DeviceContext) -> dict[str, object]:
        calls.append(ctx.clock.now())
        if len(calls) == 1:
            await ctx.clock.sleep(100)  # hangs: only the timeout ends it
        return {"ok": True}

    app.add_telemetry("sensor", slow, interval=60, timeout=5, retry=1, backoff=FixedBackoff(1))
    harness = AppHarness(app=app)
    async with harness:
        await harness.advance_time(10)
    assert harness.messages_for("ble2mqtt/sensor/state")[0][0] == '{"ok":true}'
    assert 5.8 <= calls[1] <= 6.2  # timed out at 5 s, retried ~1 s later
    assert _errors(harness) == []


async def test_the_timeout_defaults_to_the_interval_and_none_disables_it() -> None:
    app = _app()

    async def stuck(ctx: DeviceContext) -> dict[str, object]:
        await ctx.sleep(1000)  # returns early at shutdown
        return {}

    app.add_telemetry("stuck", stuck, interval=10)
    app.add_telemetry("patient", stuck, interval=10, timeout=None)
    harness = AppHarness(app=app)
    async with harness:
        assert [r.timeout for r in app.telemetry_registrations] == [10.0, None]
        await harness.advance_time(11)
    assert [e["message"] for e in _errors(harness, "stuck")] == [
        "handler did not finish within 10 s"
    ]
    assert _errors(harness, "patient") == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"retry": -1}, "retry= must be an int >= 0"),
        ({"retry": 2, "retry_on": ()}, "would never retry"),
        ({"retry": 2, "retry_on": (42,)}, "exception classes"),
        ({"retry": 2, "backoff": object()}, "backoff= must have delay"),
        ({"circuit_breaker": 5}, "CircuitBreaker"),
        ({"timeout": -1}, "timeout must be > 0"),
    ],
)
def test_bad_options_fail_at_registration(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        _app().add_telemetry("sensor", Flaky(0).read, interval=30, **kwargs)


def test_retry_defaults_follow_the_guide() -> None:
    app = _app()
    app.add_telemetry("sensor", Flaky(0).read, interval=30, retry=3)
    reg = app.telemetry_registrations[0]
    assert reg.retry_on == (OSError,)
    assert repr(reg.backoff) == "ExponentialBackoff(base=2.0, max_delay=60.0)"
    assert isinstance(reg.backoff, cosalette.ExponentialBackoff)


class SlowStart:
    """The guide's custom backoff: no delay on the first retry, then exponential."""

    def delay(self, attempt: int) -> float:
        if attempt <= 1:
            return 0.0
        return float(min(2.0 ** (attempt - 1), 30.0))


async def test_a_custom_backoff_from_the_guide() -> None:
    app = _app()
    sensor = Flaky(3)
    app.add_telemetry("sensor", sensor.read, interval=30, retry=4, backoff=SlowStart())
    harness = AppHarness(app=app)
    async with harness:
        await harness.advance_time(10)
    assert sensor.calls == [0.0, 0.0, 2.0, 6.0]  # delays 0, 2, 4
    assert harness.messages_for("ble2mqtt/sensor/state")[0][0] == '{"temperature":21.5}'


async def test_the_guides_combined_boiler_example() -> None:
    store = MemoryStore()
    app = App("vito2mqtt", heartbeat_interval=None, store=store)
    reads: list[str] = []

    @app.telemetry(
        "boiler",
        interval=30,
        publish=OnChange(threshold=0.5),
        persist=SaveOnPublish(),
        retry=3,
        backoff=ExponentialBackoff(base=2.0, max_delay=30.0),
        circuit_breaker=CircuitBreaker(threshold=5),
        group="optolink",
    )
    async def boiler(store: DeviceStore) -> dict[str, object]:
        reads.append("boiler")
        if len(reads) == 1:
            raise OSError("optolink busy")
        data: dict[str, object] = {"boiler_temp": 55.0}
        store["last_reading"] = data
        return data

    @app.telemetry("hotwater", interval=30, group="optolink")
    async def hotwater() -> dict[str, object]:
        reads.append("hotwater")
        return {"hot_water_temp": 48.0}

    harness = AppHarness(app=app)
    async with harness:
        await harness.advance_time(40)
    assert reads[:3] == ["boiler", "boiler", "hotwater"]  # boiler's retry delays the batch
    assert store._data["boiler"] == {"last_reading": {"boiler_temp": 55.0}}
    assert harness.messages_for("vito2mqtt/boiler/state")[0][0] == '{"boiler_temp":55.0}'
    assert harness.messages_for("vito2mqtt/boiler/error") == []
