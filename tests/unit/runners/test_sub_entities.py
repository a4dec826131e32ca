"""Sub-entities: name rules, their topics, availability on enter and exit, their commands."""

from __future__ import annotations

import logging

import pytest

from cosalette import DeviceContext
from cosalette.testing import AppHarness


@pytest.mark.parametrize("name", ["state", "set", "availability", "error", "config", ""])
async def test_reserved_and_empty_names_are_refused(name: str) -> None:
    harness = AppHarness.create(name="cover")
    outcome: list[BaseException] = []

    @harness.app.device("blind")
    async def blind(ctx: DeviceContext) -> None:
        try:
            async with ctx.sub_entity(name):
                pass
        except ValueError as exc:
            outcome.append(exc)

    async with harness:
        pass
    assert len(outcome) == 1
    assert harness.messages_for(f"cover/blind/{name}/availability") == []


async def test_a_sub_entity_handles_its_own_commands_and_is_cleared_on_exit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    harness = AppHarness.create(name="cover")
    received: list[str] = []

    @harness.app.device("blind")
    async def blind(ctx: DeviceContext) -> None:
        async with ctx.sub_entity("calibration") as calibration:

            @calibration.on_command
            async def on_calibrate(payload: str) -> None:
                received.append(payload)
                await calibration.publish_state({"step": payload})

            await ctx.sleep(10)
        async with ctx.sub_entity("blind"):  # the device's own name: allowed, with a warning
            pass

    with caplog.at_level(logging.WARNING, logger="cosalette"):
        async with harness:
            harness.assert_subscribed("cover/blind/+/set")
            await harness.inject_command("blind", "start", topic="cover/blind/calibration/set")
            await harness.advance_time(10)
    assert received == ["start"]
    assert harness.messages_for("cover/blind/calibration/state") == [
        ('{"step":"start"}', True, 1),
        ("", True, 1),
    ]
    assert harness.messages_for("cover/blind/calibration/availability")[-1][0] == "offline"
    assert "has the device's own name" in caplog.text
