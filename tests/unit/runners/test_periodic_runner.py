"""@app.periodic (ADR-041): sleep first, isolate errors, deferred intervals, tick_periodic."""

import datetime
import logging
from typing import Any, Protocol, cast

import pytest

from cosalette import App, ClockPort, DeviceContext, SettingRef, Settings
from cosalette.testing import AppHarness


class BridgeSettings(Settings):
    watchdog_enabled: bool = True
    led_interval: float = 5.0
    sensor_poll_interval: float = 7.0


class BufferPort(Protocol):
    def flush(self) -> None: ...


class MockBuffer:
    def __init__(self) -> None:
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1


def _harness(**overrides: Any) -> AppHarness:
    app = App("bridge", "1.0.0", settings_class=BridgeSettings)
    return AppHarness.create(app=app, **overrides)


async def test_sleeps_first_then_runs_every_interval() -> None:
    harness = _harness(run_periodic=True)
    runs: list[float] = []

    @harness.app.periodic("flush-buffer", interval=30.0)
    async def flush(clock: ClockPort) -> None:
        runs.append(clock.now())

    async with harness:
        assert runs == []
        await harness.advance_time(29)
        assert runs == []
        await harness.advance_time(1)
        assert runs == [30.0]
        await harness.advance_time(60)
        assert runs == [30.0, 60.0, 90.0]


async def test_exceptions_are_logged_and_the_loop_continues(
    caplog: pytest.LogCaptureFixture,
) -> None:
    harness = _harness(run_periodic=True)
    runs = 0

    @harness.app.periodic("watchdog", interval=10)
    async def watchdog() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("watchdog ping failed")

    with caplog.at_level(logging.ERROR):
        async with harness:
            await harness.advance_time(10)
            assert runs == 1
            failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert len(failures) == 1
            assert failures[0].exc_info is not None
            assert "watchdog ping failed" in caplog.text
            await harness.advance_time(10)
            assert runs == 2
    assert harness.messages_for("bridge/error") == []
    assert harness.messages_for("bridge/watchdog/error") == []


async def test_timedelta_interval() -> None:
    harness = _harness(run_periodic=True)
    runs = 0

    @harness.app.periodic("watchdog", interval=datetime.timedelta(minutes=1))
    async def watchdog() -> None:
        nonlocal runs
        runs += 1

    async with harness:
        await harness.advance_time(59)
        assert runs == 0
        await harness.advance_time(1)
        assert runs == 1


async def test_setting_ref_interval_reads_the_run_settings() -> None:
    harness = _harness(run_periodic=True, led_interval=2.0)
    runs = 0

    @harness.app.periodic("led-sync", interval=SettingRef("led_interval"))
    async def led_sync() -> None:
        nonlocal runs
        runs += 1

    async with harness:
        await harness.advance_time(4)
        assert runs == 2


async def test_callable_interval() -> None:
    harness = _harness(run_periodic=True, sensor_poll_interval=3.0)
    runs = 0

    @harness.app.periodic(
        "poll-sensor", interval=lambda s: cast(BridgeSettings, s).sensor_poll_interval
    )
    async def poll_sensor() -> None:
        nonlocal runs
        runs += 1

    async with harness:
        await harness.advance_time(9)
        assert runs == 3


@pytest.mark.parametrize(("enabled", "expected"), [(True, 1), (False, 0)])
async def test_enabled_callable_is_evaluated_with_settings(enabled: bool, expected: int) -> None:
    harness = _harness(run_periodic=True, watchdog_enabled=enabled)
    runs = 0

    @harness.app.periodic(
        "watchdog", interval=10, enabled=lambda s: cast(BridgeSettings, s).watchdog_enabled
    )
    async def watchdog() -> None:
        nonlocal runs
        runs += 1

    async with harness:
        await harness.advance_time(10)
        assert runs == expected


async def test_harness_does_not_spawn_periodic_tasks_by_default() -> None:
    harness = _harness()
    runs = 0

    @harness.app.periodic("flush", interval=1)
    async def flush() -> None:
        nonlocal runs
        runs += 1

    async with harness:
        await harness.advance_time(10)
    assert runs == 0


async def test_periodic_tasks_have_no_mqtt_presence() -> None:
    harness = _harness(run_periodic=True)

    @harness.app.periodic("flush", interval=1)
    async def flush() -> None:
        return None

    async with harness:
        await harness.advance_time(1)
        topics = {t for t, *_ in harness.mqtt.published}
        assert not any("flush" in t for t in topics)
        assert "flush" not in harness.messages_for("bridge/status")[-1][0]
        assert not any("flush" in t for t in harness.mqtt.subscriptions)


async def test_tick_periodic_runs_once_and_injects_adapters_and_settings() -> None:
    mock_buf = MockBuffer()
    harness = _harness(led_interval=9.5)
    harness.app.adapter(BufferPort, lambda: mock_buf)
    seen: list[float] = []

    @harness.app.periodic("flush-buffer", interval=30.0)
    async def flush_buffer(buf: BufferPort, settings: BridgeSettings) -> None:
        buf.flush()
        seen.append(settings.led_interval)

    await harness.tick_periodic("flush-buffer")
    assert mock_buf.flushes == 1
    assert seen == [9.5]
    assert harness.clock.now() == 0.0


async def test_tick_periodic_unknown_name_is_a_value_error() -> None:
    harness = _harness()

    @harness.app.periodic("flush", interval=1)
    async def flush() -> None:
        return None

    with pytest.raises(ValueError):
        await harness.tick_periodic("nope")


async def test_periodic_handler_cannot_ask_for_device_context() -> None:
    harness = _harness(run_periodic=True)
    with pytest.raises((TypeError, RuntimeError)):

        @harness.app.periodic("flush", interval=1)
        async def flush(ctx: DeviceContext) -> None:
            return None

        await harness.start()
