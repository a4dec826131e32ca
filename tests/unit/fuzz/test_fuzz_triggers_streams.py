"""Fuzzed triggers (a triggerable telemetry device's ``/set``) and stream items.

A trigger payload that is binary or too large is one ``invalid_payload`` /
``payload_too_large`` error and no run; any other text runs the device once with it as a
``TriggerPayload`` (``data`` only for a JSON object within the nesting limit). A typed trigger
payload that fails its model is one ``invalid_payload`` error. A stream whose handler fails on
an item reports it once, restarts, and handles the next item.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from _fuzz_kit import (
    LIMIT,
    Driver,
    Outcome,
    decode,
    driving,
    fuzz_settings,
    json_object,
    nasty_payloads,
    too_deep,
    too_large,
)
from hypothesis import example, given, strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from cosalette import App, DeviceContext, Stream, StreamablePort, TriggerPayload
from cosalette.mqtt import Payload
from cosalette.testing import AppHarness, make_settings, settle

COOLDOWN = 1.0
DEEP = b"[" * 1000 + b"]" * 1000


class Refresh(BaseModel):
    """A typed trigger payload."""

    days: int


def _trigger_app(seen: list[TriggerPayload]) -> AppHarness:
    app = App("fz", heartbeat_interval=None, health_check_interval=None, store=None)

    @app.telemetry("sensor", interval=3600, triggerable=True)
    async def sensor(trigger: TriggerPayload) -> dict[str, object]:
        seen.append(trigger)
        return {"triggered": trigger.is_triggered}

    @app.telemetry("typed", interval=3600, triggerable=True)
    async def typed(cmd: Annotated[Refresh | None, Payload()]) -> dict[str, object]:
        return {"days": None if cmd is None else cmd.days}

    @app.telemetry("loose", interval=3600, triggerable=True)
    async def loose(cmd: Annotated[dict | None, Payload()]) -> dict[str, object]:  # type: ignore[type-arg]
        return {"keys": None if cmd is None else len(cmd)}

    return AppHarness(app=app, settings=make_settings(mqtt={"max_payload_bytes": LIMIT}))


def _binary(text: str) -> bool:
    return "\ufffd" in text or "\x00" in text


def _typed_error(device: str, text: str) -> str | None:
    document = text if text.strip() else "{}"
    if device == "loose":
        return None if json_object(document) is not None else "invalid_payload"
    if too_deep(document):
        return "invalid_payload"
    try:
        TypeAdapter(Refresh).validate_json(document)
    except ValidationError:
        return "invalid_payload"
    return None


_GOOD_ISH = st.sampled_from([3, "3", None, -1, 2.5]).map(lambda d: json.dumps({"days": d}).encode())


def test_each_bad_trigger_gets_one_error_and_every_other_one_one_run() -> None:
    seen: list[TriggerPayload] = []
    with driving(_trigger_app(seen)) as kit:

        @fuzz_settings(300)
        @given(
            raw=nasty_payloads() | _GOOD_ISH, device=st.sampled_from(["sensor", "typed", "loose"])
        )
        @example(raw=DEEP, device="sensor")
        @example(raw=DEEP, device="loose")
        @example(raw=b"", device="typed")
        def check(raw: bytes, device: str) -> None:
            text = decode(raw)
            seen.clear()
            topic = f"fz/{device}/set"
            out = kit.send(topic, raw, device=device)
            if too_large(text):
                out.rejected("payload_too_large")
            elif _binary(text):
                out.rejected("invalid_payload")
            elif device == "sensor":
                out.handled()
                assert len(seen) == 1 and seen[0].is_triggered
                assert seen[0].raw == (text or None)
                assert seen[0].data == json_object(text)
            else:
                error = _typed_error(device, text)
                if error is None:
                    out.handled()
                else:
                    out.rejected(error)
            kit.send(topic, b'{"days": 2}', device=device).handled()
            kit.assert_alive(collect=False)

        check()


class FakePort:
    """A stream port the test pushes raw bytes through."""

    def __init__(self) -> None:
        self.callback: Callable[[bytes], None] | None = None

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def start_scan(self) -> None:
        return None

    async def stop_scan(self) -> None:
        return None

    def register_callback(self, cb: Callable[[bytes], None]) -> None:
        self.callback = cb


def reading(raw: bytes) -> int:
    """What the stream's handler accepts: UTF-8 JSON with an integer ``celsius``."""
    if raw.count(b"[") + raw.count(b"{") > 32:
        raise ValueError("too deeply nested")
    value = json.loads(raw.decode("utf-8"))["celsius"]
    if type(value) is not int:
        raise TypeError(f"celsius must be an integer, got {type(value).__name__}")
    return value


def _stream_app(port: FakePort) -> AppHarness:
    app = App(
        "fz",
        heartbeat_interval=None,
        health_check_interval=None,
        store=None,
        max_restarts=100_000,
        restart_cooldown=COOLDOWN,
    )
    app.adapter(StreamablePort[bytes], lambda: port)

    @app.stream("ble")
    async def ble(readings: Stream[bytes], ctx: DeviceContext) -> AsyncIterator[None]:
        async for raw in readings:
            await ctx.publish_state({"celsius": reading(raw)})  # a bad item ends the handler
            yield

    return AppHarness(app=app)


def _push(kit: Driver, port: FakePort, raw: bytes) -> Outcome:
    async def push() -> None:
        assert port.callback is not None
        port.callback(raw)
        await settle()

    before = len(kit.harness.mqtt.published)
    kit.run(push())
    return kit.outcome("ble item", "ble", before)


def _fails(raw: bytes) -> bool:
    try:
        reading(raw)
    except Exception:
        return True
    return False


def test_a_stream_failing_on_a_bad_item_reports_it_once_and_handles_the_next() -> None:
    port = FakePort()
    with driving(_stream_app(port)) as kit:

        @fuzz_settings(200)
        @given(raw=nasty_payloads() | st.integers().map(lambda n: b'{"celsius": %d}' % n))
        @example(raw=DEEP)
        @example(raw=b'{"celsius": "\xff"}')
        def check(raw: bytes) -> None:
            out = _push(kit, port, raw)
            if _fails(raw):
                out.rejected("error")
                kit.run(kit.harness.advance_time(COOLDOWN))  # the supervisor restarts it
            else:
                out.handled()
            _push(kit, port, b'{"celsius": 21}').handled()
            kit.assert_alive(collect=False)

        check()


def test_a_1000_deep_trigger_payload_for_a_dict_is_an_invalid_payload_error() -> None:
    """It raised RecursionError out of the cycle: the device crashed and waited to restart."""
    with driving(_trigger_app([])) as kit:
        for raw in (DEEP, b'{"a":' * 1000 + b"1" + b"}" * 1000):
            out = kit.send("fz/loose/set", raw, device="loose")
            out.rejected("invalid_payload")
            assert "nested deeper than 64 levels" in out.app_errors[0]["message"]
            kit.send("fz/loose/set", b'{"days": 2}', device="loose").handled()
