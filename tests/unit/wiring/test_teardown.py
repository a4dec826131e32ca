"""Teardown: handlers get a grace period, then cancellation, then are abandoned and named."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable

import pytest

from cosalette import App, DeviceContext
from cosalette._shutdown import TrackingExecutor, call_name
from cosalette._wiring import teardown
from cosalette.testing import AppHarness

GRACE = 0.05


@pytest.fixture(autouse=True)
def _short_graces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(teardown, "TEARDOWN_GRACE", GRACE)
    monkeypatch.setattr(teardown, "CANCEL_GRACE", GRACE)


def _app() -> App:
    return App("bridge", "1.0.0", heartbeat_interval=None)


def _label(kind: str, name: str, func: Callable[..., object]) -> str:
    return f"{kind} '{name}' ({func.__module__}.{func.__qualname__})"


class Deaf:
    """A handler body that ignores cancellation until released."""

    def __init__(self, expected: int) -> None:
        self.entered: list[str] = []
        self.all_in = asyncio.Event()  # every expected handler is stuck
        self.released = asyncio.Event()
        self._expected = expected

    async def __call__(self, name: str) -> None:
        self.entered.append(name)
        if len(self.entered) == self._expected:
            self.all_in.set()
        while not self.released.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await self.released.wait()


async def _finish_abandoned(deaf: Deaf) -> None:
    """Let the abandoned handlers end, so the test's loop closes cleanly."""
    deaf.released.set()
    ours = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    async with asyncio.timeout(5):
        await asyncio.gather(*ours, return_exceptions=True)


async def test_handlers_that_ignore_cancellation_are_abandoned_and_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, deaf = _app(), Deaf(expected=3)

    @app.telemetry("meter", interval=1, timeout=None)
    async def meter() -> dict[str, object]:
        await deaf("meter")
        return {}

    @app.command("valve")
    async def valve(payload: str) -> None:
        await deaf("valve")

    @app.device("thing")
    async def thing(ctx: DeviceContext) -> None:
        await deaf("thing")

    try:
        harness = AppHarness.create(app=app)
        await harness.start()
        await harness.inject_command("valve", "open")
        async with asyncio.timeout(5):
            await deaf.all_in.wait()
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="cosalette"):
            await harness.stop()
        took = time.monotonic() - started
        assert took < 1.0  # the two graces, not forever
        assert harness.runtime is not None
        abandoned = harness.runtime.handlers.abandoned
        assert sorted(abandoned) == [
            _label("command", "valve", valve),
            _label("device", "thing", thing),
            _label("telemetry", "meter", meter),
        ]
        for label in abandoned:
            assert f"{label} did not stop within {GRACE:g} s; cancelling it" in caplog.text
            assert (
                f"{label} did not stop within {GRACE:g} s and ignores cancellation; abandoned"
                in caplog.text
            )
        assert (
            harness.mqtt.get_messages_for("bridge/status")[-1][0] == "offline"
        )  # teardown went on
    finally:
        await _finish_abandoned(deaf)


async def test_handlers_that_stop_in_time_are_neither_cancelled_nor_abandoned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = _app()

    @app.device("thing")
    async def thing(ctx: DeviceContext) -> None:
        await ctx.sleep(3600)

    harness = AppHarness.create(app=app)
    with caplog.at_level(logging.WARNING, logger="cosalette"):
        async with harness:
            pass
    assert harness.runtime is not None and harness.runtime.handlers.abandoned == []
    assert "did not stop" not in caplog.text


async def test_the_handler_blocking_the_loop_is_named_from_another_thread() -> None:
    app = _app()
    answer: list[str] = []
    in_handler, checked = threading.Event(), threading.Event()

    @app.telemetry("meter", interval=3600, timeout=None)
    async def meter() -> dict[str, object]:
        in_handler.set()
        checked.wait(5)  # blocks the event loop until the watcher has looked
        return {}

    harness = AppHarness.create(app=app)
    loop = asyncio.get_running_loop()

    def watcher() -> None:
        in_handler.wait(5)
        assert harness.runtime is not None
        answer.extend(harness.runtime.stuck(loop, blocked=True))
        checked.set()

    thread = threading.Thread(target=watcher)
    thread.start()
    async with harness:
        pass
    thread.join(5)
    label = _label("telemetry", "meter", meter)
    assert answer == [
        f"{label} blocks the event loop and did not stop within {GRACE:g} s; abandoned"
    ]


async def test_an_executor_call_is_known_until_it_returns_with_the_handler_that_made_it() -> None:
    app = _app()
    executor = TrackingExecutor()
    release, returned = threading.Event(), asyncio.Event()
    harness = AppHarness.create(app=app)

    def wait_for_release() -> None:
        release.wait(5)

    @app.telemetry("meter", interval=3600, timeout=None)
    async def meter() -> dict[str, object]:
        assert harness.runtime is not None
        executor.caller = harness.runtime.handlers.caller
        await asyncio.get_running_loop().run_in_executor(executor, wait_for_release)
        returned.set()
        return {}

    async with harness:
        label = _label("telemetry", "meter", meter)
        assert executor.unfinished() == [(f"{__name__}.{wait_for_release.__qualname__}", label)]
        release.set()
        async with asyncio.timeout(5):
            await returned.wait()
        assert executor.unfinished() == []
    executor.shutdown()


def test_call_names_see_through_partials_and_to_thread() -> None:
    def probe(x: int) -> None: ...

    assert call_name(time.sleep, (1,)) == "time.sleep"
    assert call_name(functools.partial(probe, 1), ()) == f"{__name__}.{probe.__qualname__}"
    run = __import__("contextvars").copy_context().run
    assert call_name(functools.partial(run, time.sleep), (1,)) == "time.sleep"
