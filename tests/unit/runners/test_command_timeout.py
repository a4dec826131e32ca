"""A command handler that runs past its timeout= is stopped and reported; FakeClock decides."""

from __future__ import annotations

import json

import cosalette
from cosalette.testing import AppHarness


async def test_slow_command_times_out_on_the_fake_clock_and_the_next_one_runs() -> None:
    harness = AppHarness.create(name="bridge")
    calls: list[str] = []

    @harness.app.command("valve", timeout=2.0)
    async def valve(payload: str, ctx: cosalette.DeviceContext) -> dict[str, object]:
        calls.append(payload)
        if payload == "slow":
            await ctx.clock.sleep(10)
        return {"state": payload}

    async with harness:
        await harness.inject_command("valve", "slow")
        assert harness.messages_for("bridge/valve/error") == []  # time has not moved yet
        await harness.advance_time(2.5)
        ((error, _, _),) = harness.messages_for("bridge/valve/error")
        assert json.loads(error)["message"] == "handler did not finish within 2 s"
        await harness.inject_command("valve", "open")
    assert calls == ["slow", "open"]
    harness.assert_state("valve", {"state": "open"}, count=1)
