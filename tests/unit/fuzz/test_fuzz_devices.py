"""Fuzzed ``@app.device`` input: ``on_command`` handlers (root and sub-topic) and ``commands()``.

A device's handler decides what it accepts; the runtime's part is to hand it every message
intact, to publish exactly one error (device and app topic) when the handler fails or the
message is too large, to restart a device whose ``commands()`` loop failed, and to keep going.
"""

from __future__ import annotations

import json

from _fuzz_kit import LIMIT, Driver, decode, driving, fuzz_settings, nasty_payloads, too_large
from hypothesis import example, given, strategies as st

from cosalette import App, Command, DeviceContext
from cosalette.testing import AppHarness, make_settings

COOLDOWN = 1.0


def position(payload: str) -> int:
    """What the blind accepts: an integer 0..100."""
    value = int(payload)
    if not 0 <= value <= 100:
        raise ValueError(f"position {value} is outside 0..100")
    return value


def speed(payload: str) -> int:
    """What the blind's calibration accepts: a shallow JSON object with an integer speed."""
    if payload.count("[") + payload.count("{") > 32:
        raise ValueError("too deeply nested")
    value = json.loads(payload)["speed"]
    if type(value) is not int:
        raise TypeError(f"speed must be an integer, got {type(value).__name__}")
    return value


def _harness(received: list[Command]) -> AppHarness:
    app = App(
        "fz",
        heartbeat_interval=None,
        health_check_interval=None,
        store=None,
        max_restarts=100_000,
        restart_cooldown=COOLDOWN,
    )

    @app.device("blind")
    async def blind(ctx: DeviceContext) -> None:
        @ctx.on_command
        async def move(payload: str) -> None:
            await ctx.publish_state({"position": position(payload)})

        @ctx.on_command("calibrate")
        async def calibrate(sub_topic: str | None, payload: str) -> None:
            await ctx.publish_state({"speed": speed(payload)})

        await ctx.sleep(10**9)

    @app.device("queue")
    async def queue(ctx: DeviceContext) -> None:
        async for command in ctx.commands():
            assert command is not None
            received.append(command)
            await ctx.publish_state({"n": len(command.payload)})

    @app.device("strict")
    async def strict(ctx: DeviceContext) -> None:
        async for command in ctx.commands():
            assert command is not None
            await ctx.publish_state({"position": position(command.payload)})  # fails: restart

    return AppHarness(app=app, settings=make_settings(mqtt={"max_payload_bytes": LIMIT}))


def _fails(check: object, text: str) -> bool:
    try:
        check(text)  # type: ignore[operator]
    except Exception:
        return True
    return False


_NUMBERS = st.integers(-1000, 1000).map(lambda n: str(n).encode())
_SPEEDS = st.sampled_from([1, "1", 2.5, None, True, [1]]).map(
    lambda v: json.dumps({"speed": v}).encode()
)
PAYLOADS = nasty_payloads() | _NUMBERS | _SPEEDS


def test_on_command_handlers_fail_once_per_bad_message_and_keep_handling() -> None:
    with driving(_harness([])) as kit:

        @fuzz_settings(300)
        @given(raw=PAYLOADS, sub=st.booleans())
        @example(raw=b"[" * 1000 + b"]" * 1000, sub=True)
        @example(raw=b"\xff\xfe\x00", sub=False)
        @example(raw=b"7" * (LIMIT + 1), sub=False)
        def check(raw: bytes, sub: bool) -> None:
            text = decode(raw)
            topic, handler = (
                ("fz/blind/calibrate/set", speed) if sub else ("fz/blind/set", position)
            )
            out = kit.send(topic, raw, device="blind")
            if too_large(text):
                out.rejected("payload_too_large")
            elif _fails(handler, text):
                out.rejected("error")
            else:
                out.handled()
            good = b'{"speed":3}' if sub else b"50"
            kit.send(topic, good, device="blind").handled()
            kit.assert_alive(collect=False)

        check()


def test_commands_gets_every_message_intact_and_in_order() -> None:
    received: list[Command] = []
    with driving(_harness(received)) as kit:

        @fuzz_settings(250)
        @given(raws=st.lists(PAYLOADS, min_size=1, max_size=4))
        def check(raws: list[bytes]) -> None:
            received.clear()
            accepted = []
            for raw in raws:
                text = decode(raw)
                out = kit.send("fz/queue/set", raw, device="queue")
                if too_large(text):
                    out.rejected("payload_too_large")
                else:
                    out.handled()
                    accepted.append(text)
            assert [c.payload for c in received] == accepted
            assert all(c.topic == "fz/queue/set" and c.sub_topic is None for c in received)
            kit.assert_alive(collect=False)

        check()


def _restart(kit: Driver) -> None:
    kit.run(kit.harness.advance_time(COOLDOWN))


def test_a_commands_loop_that_fails_on_bad_input_reports_it_once_and_comes_back() -> None:
    with driving(_harness([])) as kit:

        @fuzz_settings(150)
        @given(raw=PAYLOADS)
        @example(raw=b"[" * 1000 + b"]" * 1000)
        def check(raw: bytes) -> None:
            text = decode(raw)
            out = kit.send("fz/strict/set", raw, device="strict")
            if too_large(text):
                out.rejected("payload_too_large")
            elif _fails(position, text):
                out.rejected("error")
                _restart(kit)
            else:
                out.handled()
            kit.send("fz/strict/set", b"42", device="strict").handled()
            kit.assert_alive(collect=False)

        check()
