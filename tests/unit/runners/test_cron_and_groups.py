"""Cron-scheduled telemetry and coalescing groups on the FakeClock (guide examples)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from cosalette import App, CronSchedule, DeviceContext, Settings, setting_ref
from cosalette.testing import AppHarness, FakeClock

UTC = dt.UTC


def _wall(ctx: DeviceContext) -> str:
    assert isinstance(ctx.clock, FakeClock)
    return ctx.clock.wall_now().strftime("%a %H:%M:%S")


async def test_a_schedule_runs_at_start_then_at_each_fire_time() -> None:
    app = App("cal", heartbeat_interval=None, store=None)
    runs: list[str] = []

    @app.telemetry("calendar", schedule="0 0 6,18 * * ?")
    async def calendar(ctx: DeviceContext) -> dict[str, object]:
        runs.append(_wall(ctx))
        return {"events": len(runs)}

    clock = FakeClock(wall=dt.datetime(2026, 3, 2, 5, 0, tzinfo=UTC))  # a Monday, 05:00
    harness = AppHarness(app=app, clock=clock)
    async with harness:
        await harness.advance_time(13 * 3600 + 1)
    assert runs == ["Mon 05:00:00", "Mon 06:00:00", "Mon 18:00:00"]
    assert app.telemetry_registrations[0].interval == 0.0
    assert app.telemetry_registrations[0].timeout is None  # cron has no default timeout


async def test_weekday_schedule_skips_the_weekend() -> None:
    app = App("cal", heartbeat_interval=None, store=None)
    runs: list[str] = []
    morning = CronSchedule("0 0 6 ? * MON-FRI")

    @app.telemetry("calendar", schedule=morning)
    async def calendar(ctx: DeviceContext) -> dict[str, object]:
        runs.append(_wall(ctx))
        return {}

    clock = FakeClock(wall=dt.datetime(2026, 3, 6, 7, 0, tzinfo=UTC))  # Friday 07:00
    harness = AppHarness(app=app, clock=clock)
    async with harness:
        await harness.advance_time(3 * 86400)
    assert runs == ["Fri 07:00:00", "Mon 06:00:00"]


@dataclass
class SensorConfig:
    mac: str
    cron_expr: str = "0 0 * * * ?"


async def test_per_device_schedules_from_the_device_config() -> None:
    app = App("sensors", heartbeat_interval=None, store=None)
    runs: list[tuple[str, str]] = []

    @app.telemetry(
        name=lambda s: {
            "morning_sensor": SensorConfig(mac="AA:01", cron_expr="0 0 6 * * ?"),
            "evening_sensor": SensorConfig(mac="AA:02", cron_expr="0 0 18 * * ?"),
        },
        schedule=lambda cfg: cfg.cron_expr,
    )
    async def sensor(ctx: DeviceContext, config: SensorConfig) -> dict[str, object]:
        runs.append((ctx.name, _wall(ctx)))
        return {"mac": config.mac}

    clock = FakeClock(wall=dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    harness = AppHarness(app=app, clock=clock)
    async with harness:
        await harness.advance_time(86400)
    assert ("evening_sensor", "Mon 18:00:00") in runs
    assert ("morning_sensor", "Tue 06:00:00") in runs
    assert len(runs) == 4


def test_schedule_constraints_fail_at_registration() -> None:
    app = App("cal", store=None)

    async def read() -> dict[str, object]:
        return {}

    with pytest.raises(ValueError, match="mutually exclusive"):
        app.add_telemetry("a", read, interval=60, schedule="0 0 6 * * ?")
    with pytest.raises(ValueError, match=r"interval= .* or schedule= .* is required"):
        app.add_telemetry("a", read)
    with pytest.raises(ValueError, match="schedule="):
        app.add_telemetry("a", read, schedule="0 0 6 30 2 ?")  # 30 February never comes
    with pytest.raises(ValueError, match="needs a name= callable"):
        app.add_telemetry("a", read, schedule=lambda cfg: "0 0 6 * * ?")
    with pytest.raises(ValueError, match="group= needs interval="):
        app.add_telemetry("a", read, schedule="0 0 6 * * ?", group="bus")


async def test_a_group_runs_its_members_one_after_another_on_a_shared_grid() -> None:
    app = App("vito", heartbeat_interval=None, store=None)
    order: list[tuple[float, str]] = []
    busy = False

    def make(name: str) -> Callable[[DeviceContext], Awaitable[dict[str, object]]]:
        async def read(ctx: DeviceContext) -> dict[str, object]:
            nonlocal busy
            assert not busy, "two handlers of one group ran at once"
            busy = True
            order.append((ctx.clock.now(), name))
            await ctx.clock.sleep(1)  # the bus is slow
            busy = False
            return {"name": name}

        return read

    app.add_telemetry("outdoor", make("outdoor"), interval=300, group="optolink")
    app.add_telemetry("hotwater", make("hotwater"), interval=300, group="optolink")
    app.add_telemetry("burner", make("burner"), interval=600, group="optolink")
    harness = AppHarness(app=app)
    async with harness:
        await harness.advance_time(700)
    assert [n for _, n in order[:3]] == ["outdoor", "hotwater", "burner"]
    assert [t for t, _ in order[:3]] == [0, 1, 2]  # sequential, in registration order
    assert [n for t, n in order if 300 <= t < 600] == ["outdoor", "hotwater"]
    assert [n for t, n in order if t >= 600] == ["outdoor", "hotwater", "burner"]
    for name in ("outdoor", "hotwater", "burner"):
        assert harness.messages_for(f"vito/{name}/state")  # each publishes its own state


class PollSettings(Settings):
    poll_timeout: float = 3.0


async def test_timeout_takes_a_setting_ref_resolved_at_start() -> None:
    app = App("b", settings_class=PollSettings, heartbeat_interval=None, store=None)

    async def read() -> dict[str, object]:
        return {}

    app.add_telemetry("t", read, interval=60, timeout=setting_ref("poll_timeout"))
    harness = AppHarness.create(app=app, settings_class=PollSettings, poll_timeout=1.5)
    async with harness:
        assert app.telemetry_registrations[0].timeout == 1.5


async def test_a_daily_job_keeps_its_wall_time_across_a_dst_change() -> None:
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    app = App("cal", heartbeat_interval=None, store=None)
    runs: list[str] = []

    @app.telemetry("calendar", schedule="0 0 6 * * ?")
    async def calendar(ctx: DeviceContext) -> dict[str, object]:
        assert isinstance(ctx.clock, FakeClock)
        runs.append(ctx.clock.wall_now().strftime("%d %H:%M %Z"))
        return {}

    clock = FakeClock(wall=dt.datetime(2026, 3, 28, 12, 0, tzinfo=berlin))  # the day before
    harness = AppHarness(app=app, clock=clock)
    async with harness:
        await harness.advance_time(2 * 86400)
    assert runs == ["28 12:00 CET", "29 06:00 CEST", "30 06:00 CEST"]
