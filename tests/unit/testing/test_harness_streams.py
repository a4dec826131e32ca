"""AppHarness.inject_stream / run_stream and StreamHandlerProxy: stream handlers under test."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from cosalette import App, DeviceContext, DeviceStore, MemoryStore, Stream, StreamablePort
from cosalette.testing import AppHarness, StreamHandlerProxy, settle


@dataclass(frozen=True)
class Reading:
    mac: str
    celsius: float


class FakeScanner:
    """A fake BLE scanner that records its lifecycle and emits what the test tells it to."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.callback: Callable[[Reading], None] | None = None
        self.led = "off"

    async def open(self) -> None:
        self.calls.append("open")

    async def close(self) -> None:
        self.calls.append("close")

    async def start_scan(self) -> None:
        self.calls.append("start_scan")

    async def stop_scan(self) -> None:
        self.calls.append("stop_scan")

    def register_callback(self, cb: Callable[[Reading], None]) -> None:
        self.calls.append("register_callback")
        self.callback = cb

    def set_led(self, colour: str) -> None:
        self.led = colour

    def emit(self, reading: Reading) -> None:
        assert self.callback is not None
        self.callback(reading)


class Seen:
    """Shared state: which sensors were seen, with a 'new sensor' event for the reactor."""

    def __init__(self) -> None:
        self.macs: set[str] = set()
        self.pending: list[str] = []

    def add(self, mac: str) -> None:
        if mac not in self.macs:
            self.macs.add(mac)
            self.pending.append(mac)

    def drain_events(self) -> list[str]:
        events, self.pending = self.pending, []
        return events


class Leds:
    """A port for the scanner's LED: the handler gets the scanner through the proxy."""


async def publish_readings(
    readings: Stream[Reading], ctx: DeviceContext, seen: Seen
) -> AsyncIterator[None]:
    """The handler under test: one publish per reading, shared state updated."""
    async for reading in readings:
        seen.add(reading.mac)
        await ctx.publish(reading.mac, json.dumps({"celsius": reading.celsius}))
        yield


def _app(scanner: FakeScanner, reactions: list[tuple[str, list[str]]] | None = None) -> App:
    app = App("ble", heartbeat_interval=None, store=None)
    app.adapter(StreamablePort[Reading], lambda: scanner)

    @app.state
    def seen() -> Seen:
        return Seen()

    if reactions is not None:

        @app.react(Seen)
        async def on_new(events: list[str], ctx: DeviceContext) -> None:
            reactions.append((ctx.name, events))
            await ctx.publish("new", json.dumps(events))

    app.add_stream("scanner", publish_readings)
    return app


# --- inject_stream ------------------------------------------------------------------------


async def test_inject_stream_runs_the_handler_over_the_items_with_reactors_and_no_port() -> None:
    scanner = FakeScanner()
    reactions: list[tuple[str, list[str]]] = []
    harness = AppHarness(app=_app(scanner, reactions))

    await harness.inject_stream(
        "scanner", Reading("aa", 21.5), Reading("bb", 19.0), Reading("aa", 22)
    )

    assert [p for p, _, _ in harness.messages_for("ble/scanner/aa")] == [
        '{"celsius": 21.5}',
        '{"celsius": 22}',
    ]
    harness.assert_published("ble/scanner/bb", contains="19.0", count=1)
    # after each yield: one event per new sensor; nothing new on the third item or at the end
    assert reactions == [("scanner", ["aa"]), ("scanner", ["bb"])]
    harness.assert_published("ble/scanner/new", count=2)
    assert scanner.calls == []  # the port is never opened, scanned or closed


async def test_inject_stream_delivers_every_item_even_past_the_streams_maxsize() -> None:
    scanner = FakeScanner()
    app = App("ble", heartbeat_interval=None, store=None)
    app.adapter(StreamablePort[Reading], lambda: scanner)
    got: list[str] = []

    @app.stream("scanner", maxsize=2)
    async def scan(readings: Stream[Reading]) -> AsyncIterator[None]:
        async for reading in readings:
            got.append(reading.mac)
            yield

    await AppHarness(app=app).inject_stream("scanner", *(Reading(f"m{i}", i) for i in range(5)))
    assert got == ["m0", "m1", "m2", "m3", "m4"]


async def test_inject_stream_gives_the_handler_its_store_and_saves_it() -> None:
    store = MemoryStore()
    app = App("ble", heartbeat_interval=None, store=store)
    app.adapter(StreamablePort[Reading], FakeScanner)

    @app.stream("scanner")
    async def count(readings: Stream[Reading], store: DeviceStore) -> AsyncIterator[None]:
        async for _ in readings:
            store["count"] = int(store.get("count", 0)) + 1  # type: ignore[call-overload]
            yield

    harness = AppHarness(app=app)
    await harness.inject_stream("scanner", Reading("a", 1), Reading("b", 2))
    await harness.inject_stream("scanner", Reading("c", 3))  # loaded again: counting goes on
    assert store._data["scanner"] == {"count": 3}


async def test_inject_stream_without_shutdown_ends_at_trigger_shutdown() -> None:
    scanner = FakeScanner()
    harness = AppHarness(app=_app(scanner))
    task = asyncio.ensure_future(harness.inject_stream("scanner", Reading("aa", 1), shutdown=False))
    await settle()
    assert not task.done()  # drained, still waiting for more
    harness.assert_published("ble/scanner/aa", count=1)
    harness.trigger_shutdown()
    await task


async def test_inject_stream_lets_handler_errors_through() -> None:
    app = App("ble", heartbeat_interval=None, store=None)
    app.adapter(StreamablePort[Reading], FakeScanner)

    @app.stream("scanner")
    async def scan(readings: Stream[Reading]) -> AsyncIterator[None]:
        async for reading in readings:
            if reading.celsius < -100:
                raise ValueError("impossible reading")
            yield

    with pytest.raises(ValueError, match="impossible reading"):
        await AppHarness(app=app).inject_stream("scanner", Reading("x", -273))


async def test_inject_stream_with_an_unknown_name_names_the_known_streams() -> None:
    harness = AppHarness(app=_app(FakeScanner()))
    with pytest.raises(ValueError, match=r"No stream named 'scaner' \(registered: scanner\)"):
        await harness.inject_stream("scaner", Reading("a", 1))
    empty = AppHarness.create()
    with pytest.raises(ValueError, match=r"registered: none"):
        await empty.inject_stream("scanner")


# --- run_stream ---------------------------------------------------------------------------


async def test_run_stream_runs_the_port_lifecycle_until_shutdown() -> None:
    scanner = FakeScanner()
    harness = AppHarness.create(name="ble")

    @harness.app.state
    def seen() -> Seen:
        return Seen()

    task = asyncio.ensure_future(
        harness.run_stream(publish_readings, {StreamablePort[Reading]: scanner})
    )
    await settle()
    assert scanner.calls == ["open", "register_callback", "start_scan"]

    emitter = threading.Thread(target=lambda: scanner.emit(Reading("aa", 20.0)))
    emitter.start()  # ports may call back from their own thread
    emitter.join()
    scanner.emit(Reading("bb", 21.0))
    await harness.wait_for_publish_count("ble/test_stream/bb", 1)
    harness.assert_published("ble/test_stream/aa", contains="20.0", count=1)

    harness.trigger_shutdown()
    stream = await task
    assert scanner.calls[-2:] == ["stop_scan", "close"]
    assert stream.closed and stream.dropped == 0


async def test_run_stream_closes_the_port_when_the_handler_fails() -> None:
    scanner = FakeScanner()

    async def failing(readings: Stream[Reading]) -> AsyncIterator[None]:
        async for _ in readings:
            raise RuntimeError("handler broke")
        yield

    harness = AppHarness.create()
    task = asyncio.ensure_future(
        harness.run_stream(failing, {StreamablePort[Reading]: scanner}, shutdown=asyncio.Event())
    )
    await settle()
    scanner.emit(Reading("aa", 1))
    with pytest.raises(RuntimeError, match="handler broke"):
        await task
    assert scanner.calls[-2:] == ["stop_scan", "close"]


async def test_run_stream_reports_a_missing_port_and_checks_the_handler() -> None:
    harness = AppHarness.create()
    from cosalette import StartupError

    with pytest.raises(StartupError, match=r"no adapter for StreamablePort\[Reading\]"):
        await harness.run_stream(publish_readings, {})

    async def no_stream(ctx: DeviceContext) -> AsyncIterator[None]:
        yield

    with pytest.raises(TypeError, match="exactly one Stream"):
        await harness.run_stream(no_stream, {StreamablePort[Reading]: FakeScanner()})


# --- StreamHandlerProxy -------------------------------------------------------------------


def test_the_proxy_forwards_everything_but_the_port_lifecycle() -> None:
    scanner = FakeScanner()
    proxy = StreamHandlerProxy(scanner)
    proxy.set_led("green")
    assert scanner.led == "green" and proxy.led == "green"
    proxy.led = "red"
    assert scanner.led == "red"
    assert proxy.wrapped is scanner
    for name in ("open", "close", "start_scan", "stop_scan"):
        with pytest.raises(AttributeError, match=f"{name}\\(\\) belongs to the runtime"):
            getattr(proxy, name)
    assert repr(proxy).startswith("StreamHandlerProxy(<")


async def test_a_handler_can_drive_its_port_through_the_proxy_but_not_stop_it() -> None:
    scanner = FakeScanner()
    app = App("ble", heartbeat_interval=None, store=None)
    app.adapter(StreamablePort[Reading], lambda: scanner)

    def leds(port: StreamablePort[Reading]) -> object:
        return StreamHandlerProxy(port)

    app.adapter(Leds, leds)

    @app.stream("scanner")
    async def scan(readings: Stream[Reading], leds: Leds) -> AsyncIterator[None]:
        async for reading in readings:
            leds.set_led("red" if reading.celsius > 30 else "green")  # type: ignore[attr-defined]
            if reading.mac == "stop":
                await leds.stop_scan()  # type: ignore[attr-defined]
            yield

    harness = AppHarness(app=app)
    await harness.inject_stream("scanner", Reading("a", 35))
    assert scanner.led == "red"
    with pytest.raises(AttributeError, match="stop_scan"):
        await harness.inject_stream("scanner", Reading("stop", 1))
