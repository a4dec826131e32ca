"""Streams: a StreamablePort pushes items, from any thread, into a handler's Stream[T]."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from cosalette import App, DeviceContext, Stream, StreamablePort
from cosalette.testing import AppHarness, settle


@dataclass(frozen=True)
class Reading:
    mac: str
    celsius: float


class FakeScanner:
    """A fake BLE scanner: emits what the test tells it to, from the test or another thread."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.callback: Callable[[Reading], None] | None = None

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

    def emit(self, reading: Reading) -> None:
        assert self.callback is not None
        self.callback(reading)


def _app(scanner: FakeScanner, **stream_options: object) -> App:
    app = App("ble", heartbeat_interval=None, store=None)
    app.adapter(StreamablePort[Reading], lambda: scanner)

    @app.stream("scanner", **stream_options)  # type: ignore[arg-type]
    async def scan(readings: Stream[Reading], ctx: DeviceContext) -> AsyncIterator[None]:
        async for reading in readings:
            await ctx.publish(reading.mac, json.dumps({"celsius": reading.celsius}))
            yield

    return app


async def test_items_flow_from_the_port_to_the_handler_and_the_port_is_closed_in_order() -> None:
    scanner = FakeScanner()
    harness = AppHarness(app=_app(scanner))
    async with harness:
        scanner.emit(Reading("aa", 21.5))
        scanner.emit(Reading("bb", 19.0))
        await settle()
        assert harness.messages_for("ble/scanner/aa")[0][0] == '{"celsius": 21.5}'
        assert harness.messages_for("ble/scanner/bb")
    assert scanner.calls == ["open", "register_callback", "start_scan", "stop_scan", "close"]


async def test_a_port_calling_back_from_another_thread_works() -> None:
    scanner = FakeScanner()
    harness = AppHarness(app=_app(scanner))
    async with harness:

        def emit_all() -> None:
            for i in range(100):
                scanner.emit(Reading(f"t{i}", i))

        thread = threading.Thread(target=emit_all)
        thread.start()
        thread.join()
        await harness.wait_for_publish_count("ble/scanner/t99", 1)
    assert sum(1 for t, *_ in harness.mqtt.published if t.startswith("ble/scanner/t")) == 100


async def test_a_full_stream_drops_and_the_heartbeat_counts_drops() -> None:
    scanner = FakeScanner()
    app = _app(scanner, maxsize=3, backpressure="drop_newest")
    app._heartbeat_interval = 10
    harness = AppHarness(app=app)
    async with harness:
        for i in range(6):
            scanner.emit(Reading(f"b{i}", i))  # all before the handler runs: 3 fit
        await settle()
        await harness.advance_time(10)
    seen = sorted(t for t, *_ in harness.mqtt.published if t.startswith("ble/scanner/b"))
    assert seen == ["ble/scanner/b0", "ble/scanner/b1", "ble/scanner/b2"]
    beat = json.loads(harness.messages_for("ble/status")[-2][0])
    assert beat["devices"]["scanner"] == {"status": "ok", "dropped": 3}


async def test_a_failing_handler_is_reported_and_restarted() -> None:
    scanner = FakeScanner()
    app = App("ble", heartbeat_interval=None, store=None, restart_cooldown=1)
    app.adapter(StreamablePort[Reading], lambda: scanner)

    @app.stream("scanner")
    async def scan(readings: Stream[Reading]) -> AsyncIterator[None]:
        async for reading in readings:
            if reading.celsius < -100:
                raise ValueError("impossible reading")
            yield

    harness = AppHarness(app=app)
    async with harness:
        scanner.emit(Reading("x", -273.0))
        await settle()
        await harness.advance_time(1)
    errors = [json.loads(p) for p, _, _ in harness.messages_for("ble/scanner/error")]
    assert [e["message"] for e in errors] == ["impossible reading"]
    assert scanner.calls.count("open") == 2  # restarted after the cooldown


def test_registration_checks() -> None:
    app = App("ble", store=None)

    async def no_stream(ctx: DeviceContext) -> AsyncIterator[None]:
        yield

    with pytest.raises(TypeError, match="exactly one Stream"):
        app.add_stream("a", no_stream)

    async def takes_port(readings: Stream[Reading], port: StreamablePort[Reading]) -> None:
        return None

    with pytest.raises(TypeError, match="belongs to the framework"):
        app.add_stream("b", takes_port)
    with pytest.raises(ValueError, match="backpressure="):
        app.stream("c", backpressure="block")(no_stream)


async def test_a_stream_without_its_port_adapter_fails_at_start() -> None:
    app = App("ble", store=None)

    @app.stream("scanner")
    async def scan(readings: Stream[Reading]) -> AsyncIterator[None]:
        async for _ in readings:
            yield

    from cosalette import StartupError

    with pytest.raises(StartupError, match=r"no adapter for StreamablePort\[Reading\]"):
        await AppHarness(app=app).start()


async def test_two_streams_on_one_port_type_fail_at_start() -> None:
    scanner = FakeScanner()
    app = _app(scanner)

    @app.stream("second")
    async def second(readings: Stream[Reading]) -> AsyncIterator[None]:
        async for _ in readings:
            yield

    from cosalette import StartupError

    with pytest.raises(StartupError, match="already feeds stream 'scanner'"):
        await AppHarness(app=app).start()


async def test_a_handler_asking_for_its_ports_class_gets_a_proxy_without_the_lifecycle() -> None:
    from cosalette.testing import StreamHandlerProxy

    scanner = FakeScanner()
    app = App("ble", heartbeat_interval=None, store=None)
    app.adapter(StreamablePort[Reading], lambda: scanner)
    seen: list[object] = []

    @app.stream("scanner")
    async def scan(readings: Stream[Reading], port: FakeScanner) -> AsyncIterator[None]:
        seen.append(port)
        with pytest.raises(AttributeError, match="belongs to the runtime"):
            await port.close()
        async for _ in readings:
            yield

    async with AppHarness(app=app):
        await settle()
    assert isinstance(seen[0], StreamHandlerProxy)
    assert seen[0].wrapped is scanner
    assert scanner.calls.count("close") == 1  # only the runtime closed it
