"""Arbitrary topic strings delivered to the inbound router.

A topic that is a device's ``/set`` reaches its handler; ``<device>/<sub>/set`` of a
``@device`` without that sub-command is one ``unknown_command`` error; anything else is
ignored: nothing is published and nothing fails.
"""

from __future__ import annotations

from _fuzz_kit import driving, fuzz_settings
from hypothesis import example, given, strategies as st

from cosalette import App, DeviceContext, TriggerPayload
from cosalette.testing import AppHarness


def _harness() -> AppHarness:
    app = App("fz", heartbeat_interval=None, health_check_interval=None, store=None)

    @app.command("valve")
    async def valve(payload: str) -> dict[str, object]:
        return {"valve": payload}

    @app.telemetry("sensor", interval=3600, triggerable=True)
    async def sensor(trigger: TriggerPayload) -> dict[str, object]:
        return {"triggered": trigger.is_triggered}

    @app.device("blind")
    async def blind(ctx: DeviceContext) -> None:
        @ctx.on_command
        async def move(payload: str) -> None:
            await ctx.publish_state({"moved": payload})

        @ctx.on_command("calibrate")
        async def calibrate(sub_topic: str | None, payload: str) -> None:
            await ctx.publish_state({"calibrated": payload})

        await ctx.sleep(10**9)

    @app.device("queue")
    async def queue(ctx: DeviceContext) -> None:
        async for command in ctx.commands():
            assert command is not None
            await ctx.publish_state({"got": command.payload})

    return AppHarness(app=app)


HANDLED = {
    "fz/valve/set": "valve",
    "fz/sensor/set": "sensor",
    "fz/blind/set": "blind",
    "fz/blind/calibrate/set": "blind",
    "fz/queue/set": "queue",
}


def expected(topic: str) -> tuple[str, str | None] | None:
    """``(device, None)`` when handled, ``(device, error type)`` when rejected, else None."""
    if topic in HANDLED:
        return HANDLED[topic], None
    for device in ("blind", "queue"):
        base = f"fz/{device}/"
        if topic.startswith(base) and topic.endswith("/set"):
            sub = topic[len(base) : -len("/set")]
            if "/" not in sub:  # "" too: <device>//set names the sub-command ""
                return device, "unknown_command"
    return None


_SEGMENTS = st.sampled_from(
    ["fz", "valve", "sensor", "blind", "calibrate", "queue", "set", "state", "", "+", "#"]
) | st.text(max_size=6)
TOPICS = st.text() | st.lists(_SEGMENTS, max_size=6).map("/".join)


def test_any_topic_is_routed_rejected_once_or_ignored() -> None:
    with driving(_harness()) as kit:

        @fuzz_settings(1000)
        @given(topic=TOPICS)
        @example(topic="fz/blind/+/set")
        @example(topic="fz/blind//set")
        @example(topic="fz/queue/#/set")
        @example(topic="fz/blind/calibrate/x/set")
        @example(topic="fz/valve/x/set")
        @example(topic="fz//set")
        @example(topic="/set")
        @example(topic="fz/blind/\x00/set")
        def check(topic: str) -> None:
            outcome = expected(topic)
            device = outcome[0] if outcome else "-"
            out = kit.send(topic, b"50", device=device)
            if outcome is None:
                out.ignored()
            elif outcome[1] is None:
                out.handled()
            else:
                out.rejected(outcome[1])
            for good, name in HANDLED.items():
                kit.send(good, b"1", device=name).handled()
            kit.assert_alive(collect=False)

        check()
