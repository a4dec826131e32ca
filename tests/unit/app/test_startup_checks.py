"""Checks that can only run at start-up, once the settings exist (ADR-020, name= callables)."""

import pytest

from cosalette import DeviceContext
from cosalette.testing import AppHarness


async def _poll() -> dict[str, object]:
    return {"v": 1}


async def test_deferred_interval_resolving_to_zero_fails_at_start() -> None:
    harness = AppHarness.create(name="bridge")
    harness.app.add_telemetry("t", _poll, interval=lambda s: 0)
    with pytest.raises(Exception) as info:
        await harness.start()
    # ADR-020: the resolved value is checked for <= 0 (a ValueError, possibly wrapped).
    exc = info.value
    assert isinstance(exc, ValueError) or isinstance(exc.__cause__, ValueError)
    assert "interval" in str(exc)
    assert harness.messages_for("bridge/t/state") == []


async def test_name_callable_colliding_with_a_static_name_fails_at_start() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.device(name=lambda s: ["kitchen"])
    async def rooms(ctx: DeviceContext) -> None:
        while not ctx.shutdown_requested:
            await ctx.sleep(60)

    @harness.app.telemetry("kitchen", interval=5)
    async def kitchen() -> dict[str, object]:
        return {"x": 1}

    with pytest.raises(Exception) as info:
        await harness.start()
    exc = info.value
    assert isinstance(exc, ValueError) or isinstance(exc.__cause__, ValueError)
    assert "kitchen" in str(exc)
    assert harness.messages_for("bridge/kitchen/state") == []


async def test_name_callable_colliding_the_other_way_round_fails_at_start() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.device("kitchen")
    async def kitchen(ctx: DeviceContext) -> None:
        while not ctx.shutdown_requested:
            await ctx.sleep(60)

    @harness.app.telemetry(name=lambda s: ["kitchen"], interval=5)
    async def rooms() -> dict[str, object]:
        return {"x": 1}

    with pytest.raises(Exception) as info:
        await harness.start()
    assert "kitchen" in str(info.value)
