"""Driving ``@app.stream`` handlers in tests: injected items, a full port lifecycle, a port proxy.

Both helpers reuse the runtime's wiring: a :class:`Runtime` of the harness's app is prepared
(adapters built, state and lifespan entered, handlers bound, reactors included) but never
served, and released afterwards, as ``AppHarness.tick_periodic`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from cosalette._app.app import App
from cosalette._app.description import AppDescription
from cosalette._app.registration import Registrations
from cosalette._di.adapters import AdapterEntry
from cosalette._streams import Stream, StreamHandlerProxy
from cosalette._wiring.runtime import Runtime

if TYPE_CHECKING:
    from cosalette.testing._harness import AppHarness

__all__ = ["StreamHandlerProxy", "inject_stream", "run_stream"]

T = TypeVar("T")
P = TypeVar("P")

TEST_STREAM = "test_stream"


class _InjectedStream(Stream[T]):
    """A Stream that ends once it is empty after :meth:`end_when_drained` (not shut down)."""

    _end_when_drained = False

    def end_when_drained(self) -> None:
        """From now on, iteration ends when no item is left (queued items still arrive)."""
        self._end_when_drained = True

    async def __anext__(self) -> T:
        if self._end_when_drained and not self.qsize():
            self.shutdown()
        return await super().__anext__()


@contextlib.asynccontextmanager
async def prepared_runtime(
    harness: AppHarness, description: AppDescription, shutdown_event: asyncio.Event
) -> AsyncIterator[Runtime]:
    """A prepared, never served Runtime of *description* with the harness's doubles and
    overrides; released (stores saved and closed) on the way out."""
    runtime = Runtime(
        description,
        settings=harness.settings,
        mqtt=harness.mqtt,
        shutdown_event=shutdown_event,
        clock=harness.clock,
        dry_run=description.dry_run,
        run_periodic=False,
        adapter_overrides=harness.adapter_overrides,
        state_overrides=harness.state_overrides,
    )
    await runtime.prepare()
    try:
        yield runtime
    finally:
        await runtime.release()


async def _stop_on(event: asyncio.Event, stop: Callable[[], None]) -> None:
    await event.wait()
    stop()


@contextlib.asynccontextmanager
async def _watching(event: asyncio.Event, stop: Callable[[], None]) -> AsyncIterator[None]:
    """Call *stop* when *event* is set, for as long as the block runs."""
    watcher = asyncio.ensure_future(_stop_on(event, stop))
    try:
        yield
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def inject_stream(
    harness: AppHarness, name: str, items: tuple[Any, ...], shutdown: bool
) -> None:
    """See :meth:`AppHarness.inject_stream`."""
    description = harness.app.describe(harness.settings)
    known = [r.name for r in description.registrations.streams]
    if name not in known:
        raise ValueError(f"No stream named '{name}' (registered: {', '.join(known) or 'none'})")
    async with prepared_runtime(harness, description, asyncio.Event()) as runtime:
        stream: _InjectedStream[Any] = _InjectedStream()
        for item in items:
            stream.put(item)
        runner = runtime.stream_runner(name)
        if shutdown:
            stream.end_when_drained()
            await runner.consume(stream)
            return
        async with _watching(harness.shutdown_event, stream.shutdown):
            await runner.consume(stream)


async def run_stream(
    harness: AppHarness,
    func: Callable[..., Any],
    adapters: Mapping[Any, object],
    shutdown: asyncio.Event | None,
) -> Stream[Any]:
    """See :meth:`AppHarness.run_stream`."""
    scratch = App(harness.app.name, store=None)
    scratch.add_stream(TEST_STREAM, func)  # the registration checks of @app.stream
    base = harness.app.describe(harness.settings)
    description = base._replace(
        registrations=Registrations(streams=scratch.describe().registrations.streams),
        adapters={
            **base.adapters,
            **{port: AdapterEntry(_returning(a)) for port, a in adapters.items()},
        },
    )
    event = shutdown if shutdown is not None else harness.shutdown_event
    async with prepared_runtime(harness, description, event) as runtime:
        runner = runtime.stream_runner(TEST_STREAM)
        async with _watching(event, runner.stop):
            await runner.run()
        assert runner.stream is not None
        return runner.stream


def _returning(instance: object) -> Callable[[], object]:
    """An adapter factory that hands out *instance*."""

    def build() -> object:
        return instance

    return build
