"""App.describe(): one frozen description of what an app declares, read by everything else."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

import pytest

from cosalette import App, AppContext, DeviceContext, Router
from cosalette.testing import AppHarness


class MeterPort(Protocol):
    def read(self) -> int: ...


class FakeMeter:
    def read(self) -> int:
        return 0


async def _read() -> dict[str, object]:
    return {"v": 1}


def test_description_carries_every_declaration_and_is_frozen() -> None:
    app = App("bridge", "2.0.0", description="Demo", heartbeat_interval=None, max_restarts=7)
    app.adapter(MeterPort, FakeMeter)
    app.add_telemetry("meter", _read, interval=30)
    router = Router(prefix="garden")
    router.add_telemetry("soil", _read, interval=60)
    app.include_router(router)

    described = app.describe()
    assert (described.name, described.version, described.description) == (
        "bridge",
        "2.0.0",
        "Demo",
    )
    assert [r.name for r in described.registrations.telemetry] == ["meter", "garden/soil"]
    assert list(described.adapters) == [MeterPort]
    assert described.supervision.heartbeat_interval is None
    assert described.supervision.max_restarts == 7
    with pytest.raises(AttributeError):
        described.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        described.adapters[MeterPort] = None  # type: ignore[index]
    app.add_telemetry("later", _read, interval=30)
    assert len(described.registrations.telemetry) == 2  # a snapshot, not a live view


def test_router_description_is_what_include_router_adopts() -> None:
    router = Router(prefix="garden", tags=["outdoor"])
    router.add_telemetry("soil", _read, interval=60)
    described = router.describe()
    assert (described.prefix, described.tags) == ("garden", ("outdoor",))
    assert [r.name for r in described.registrations.telemetry] == ["soil"]


async def test_private_supervision_attributes_written_by_tests_elsewhere_still_count() -> None:
    """API-SURFACE: programs set App._max_restarts and App._lifespan after construction."""
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(ctx: AppContext) -> AsyncIterator[None]:
        events.append("replacement lifespan")
        yield

    app = App("bridge", heartbeat_interval=None, restart_cooldown=1)
    app._max_restarts = 0
    app._lifespan = lifespan
    starts: list[int] = []

    @app.device("flaky")
    async def flaky(ctx: DeviceContext) -> None:
        starts.append(1)
        raise RuntimeError("boom")

    harness = AppHarness.create(app=app)
    async with harness:
        await harness.advance_time(5)
    assert events == ["replacement lifespan"]
    assert len(starts) == 1  # max_restarts=0: never restarted
    assert harness.messages_for("bridge/flaky/availability")[-1][0] == "offline"
