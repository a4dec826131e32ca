"""A restarted adapter: built with everything a first build gets, and re-bound to handlers."""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

import pytest

from cosalette import App, ClockPort, DeviceContext
from cosalette.testing import AppHarness


class HubPort(Protocol):
    def read(self) -> int: ...


built: list[Any] = []


class ClockedHub:
    """An adapter whose constructor takes the clock; unhealthy until restarted."""

    def __init__(self, clock: ClockPort) -> None:
        self.clock = clock
        self.healthy = True
        built.append(self)
        self.ident = len(built)

    async def health_check(self) -> bool:
        return self.healthy

    def read(self) -> int:
        return self.ident


def _app() -> App:
    built.clear()
    return App(
        "bridge",
        "1.0.0",
        health_check_interval=5,
        restart_after_failures=2,
        max_restarts=3,
        heartbeat_interval=None,
    )


def _states(harness: AppHarness, topic: str) -> list[dict[str, Any]]:
    return [json.loads(p) for p, _, _ in harness.messages_for(topic)]


async def _fail_until_restarted(harness: AppHarness) -> None:
    built[0].healthy = False
    for _ in range(4):  # two failed probes 5 s apart trigger the restart
        await harness.advance_time(5)
        if len(built) > 1:
            return


async def test_an_adapter_taking_the_clock_restarts(caplog: pytest.LogCaptureFixture) -> None:
    app = _app()
    app.adapter(HubPort, ClockedHub)
    harness = AppHarness.create(app=app)

    @app.telemetry("meter", interval=60)
    async def meter(hub: HubPort) -> dict[str, object]:
        return {"hub": hub.read()}

    with caplog.at_level(logging.ERROR, logger="cosalette"):
        async with harness:
            await _fail_until_restarted(harness)
    assert len(built) == 2, caplog.text
    assert built[1].clock is harness.clock
    assert "failed" not in caplog.text


async def test_handlers_see_the_restarted_instance() -> None:
    app = _app()
    app.adapter(HubPort, ClockedHub)
    harness = AppHarness.create(app=app)
    seen_by_device: list[int] = []

    @app.telemetry("meter", interval=60)
    async def meter(hub: HubPort) -> dict[str, object]:
        return {"hub": hub.read()}

    @app.command("valve")
    async def valve(payload: str, hub: HubPort) -> dict[str, object]:
        return {"hub": hub.read()}

    @app.device("panel")
    async def panel(ctx: DeviceContext) -> None:
        while not ctx.shutdown_requested:
            seen_by_device.append(ctx.adapter(HubPort).read())  # type: ignore[type-abstract]
            await ctx.sleep(60)

    async with harness:
        await _fail_until_restarted(harness)
        assert len(built) == 2
        await harness.advance_time(60)
        await harness.inject_command("valve", "open")
    assert _states(harness, "bridge/meter/state")[-1] == {"hub": 2}
    assert _states(harness, "bridge/valve/state") == [{"hub": 2}]
    assert seen_by_device[-1] == 2


async def test_a_context_manager_adapter_is_re_entered_and_re_bound() -> None:
    events: list[str] = []
    sessions: list[Any] = []

    class Session:
        def __init__(self) -> None:
            self.healthy = True
            sessions.append(self)

        async def health_check(self) -> bool:
            return self.healthy

        def read(self) -> int:
            return len(sessions)

    class Connection:
        """Enters as a fresh Session each time, like a reconnecting client."""

        async def __aenter__(self) -> Session:
            events.append("enter")
            return Session()

        async def __aexit__(self, *exc: object) -> None:
            events.append("exit")

    app = _app()
    app.adapter(HubPort, Connection)
    harness = AppHarness.create(app=app)

    @app.telemetry("meter", interval=60)
    async def meter(hub: HubPort) -> dict[str, object]:
        return {"hub": hub.read()}

    async with harness:
        assert _states(harness, "bridge/meter/state") == [{"hub": 1}]
        sessions[0].healthy = False
        for _ in range(4):
            await harness.advance_time(5)
            if len(sessions) > 1:
                break
        await harness.advance_time(60)
    assert events == ["enter", "exit", "enter", "exit"]
    assert _states(harness, "bridge/meter/state")[-1] == {"hub": 2}
