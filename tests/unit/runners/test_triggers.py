"""Triggerable telemetry: /set runs the handler at once; bursts coalesce; typed payloads."""

from __future__ import annotations

import json
from typing import Annotated

import pytest
from pydantic import BaseModel

from cosalette import App, DeviceContext, OnChange, TriggerPayload
from cosalette.mqtt import Payload
from cosalette.testing import AppHarness


class RefreshCommand(BaseModel):
    days: int = 7


def _app() -> App:
    return App("myapp", heartbeat_interval=None, store=None)


def _states(harness: AppHarness, device: str = "sensor") -> list[dict[str, object]]:
    return [json.loads(p) for p, _, _ in harness.messages_for(f"myapp/{device}/state")]


async def test_a_trigger_runs_the_handler_now_and_the_interval_restarts_from_it() -> None:
    app = _app()
    runs: list[tuple[float, bool, object]] = []

    @app.telemetry("sensor", interval=100, triggerable=True)
    async def sensor(ctx: DeviceContext, trigger: TriggerPayload) -> dict[str, object]:
        runs.append((ctx.clock.now(), trigger.is_triggered, trigger.get("days", 7)))
        return {"days": trigger.get("days", 7)}

    harness = AppHarness(app=app)
    async with harness:
        harness.assert_subscribed("myapp/sensor/set")
        await harness.advance_time(30)
        await harness.inject_command("sensor", {"days": 3})
        await harness.advance_time(99)
        assert [r[0] for r in runs] == [0, 30]
        await harness.advance_time(1)
    assert runs == [(0, False, 7), (30, True, 3), (130, False, 7)]
    assert _states(harness) == [{"days": 7}, {"days": 3}, {"days": 7}]


async def test_triggers_during_a_run_coalesce_into_one_rerun_with_the_latest() -> None:
    app = _app()
    seen: list[str | None] = []

    @app.telemetry("sensor", interval=300, triggerable=True)
    async def sensor(ctx: DeviceContext, trigger: TriggerPayload) -> dict[str, object]:
        seen.append(trigger.raw)
        if trigger.is_triggered and len(seen) == 2:
            await ctx.clock.sleep(5)  # a slow read while more triggers arrive
        return {"n": len(seen)}

    harness = AppHarness(app=app)
    async with harness:
        await harness.inject_command("sensor", "1")
        for payload in ("2", "3", "x"):
            await harness.inject_command("sensor", payload)
        await harness.advance_time(6)
    assert seen == [None, "1", "x"]


async def test_a_typed_trigger_payload_is_validated_and_none_when_scheduled() -> None:
    app = _app()
    got: list[object] = []

    @app.telemetry("sensor", interval=300, triggerable=True)
    async def sensor(cmd: Annotated[RefreshCommand | None, Payload()]) -> dict[str, object]:
        got.append(cmd)
        return {"days": cmd.days if cmd is not None else 7}

    harness = AppHarness(app=app)
    async with harness:
        await harness.inject_command("sensor", {"days": 2})
        await harness.inject_command("sensor", "")
        await harness.inject_command("sensor", {"days": "many"})
    assert got == [None, RefreshCommand(days=2), RefreshCommand()]  # the bad one never ran
    errors = [json.loads(p) for p, _, _ in harness.messages_for("myapp/sensor/error")]
    assert len(errors) == 1 and "days" in errors[0]["message"]


async def test_binary_and_oversized_triggers_are_errors_and_strategies_still_apply() -> None:
    app = _app()
    calls: list[int] = []

    @app.telemetry("sensor", interval=300, triggerable=True, publish=OnChange())
    async def sensor() -> dict[str, object]:
        calls.append(1)
        return {"same": True}

    harness = AppHarness.create(app=app, mqtt__max_payload_bytes=16)
    async with harness:
        await harness.inject_command("sensor", "\x00\x01")
        await harness.inject_command("sensor", "x" * 100)
        await harness.inject_command("sensor", "ok")
    assert len(calls) == 2  # start and the valid trigger
    assert _states(harness) == [{"same": True}]  # OnChange suppressed the unchanged re-read
    assert len(harness.messages_for("myapp/sensor/error")) == 2


def test_trigger_constraints_fail_at_registration() -> None:
    app = _app()

    async def read() -> dict[str, object]:
        return {}

    with pytest.raises(ValueError, match="requires a named device"):
        app.telemetry(interval=60, triggerable=True)(read)
    with pytest.raises(ValueError, match="cannot be combined"):
        app.add_telemetry("a", read, interval=60, triggerable=True, group="bus")

    async def typed(cmd: Annotated[RefreshCommand, Payload()]) -> dict[str, object]:
        return {}

    with pytest.raises(TypeError, match=r"RefreshCommand \| None"):
        app.add_telemetry("b", typed, interval=60, triggerable=True)
