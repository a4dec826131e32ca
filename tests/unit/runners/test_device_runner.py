"""@app.device (ADR-010): command & control, commands(), async generators, context API."""

import json
from collections.abc import AsyncIterator
from typing import Protocol

import pytest

from cosalette import App, Command, DeviceContext
from cosalette.testing import AppHarness


class GpioPort(Protocol):
    def position(self) -> int: ...


class Unknown(Protocol):
    def x(self) -> None: ...


def _states(harness: AppHarness, topic: str) -> list[dict[str, object]]:
    return [json.loads(p) for p, _, _ in harness.messages_for(topic)]


async def test_command_and_control_device_as_in_adr_010() -> None:
    harness = AppHarness.create(name="velux2mqtt")

    @harness.app.device("blind")
    async def blind(ctx: DeviceContext) -> None:
        @ctx.on_command
        async def handle(payload: str) -> None:
            await ctx.publish_state({"position": int(payload)})

        @ctx.on_command("calibrate")
        async def calibrate(sub_topic: str | None, payload: str) -> None:
            await ctx.publish_state({"calibrated": sub_topic, "with": payload})

        await ctx.publish_state({"position": None, "moving": False})

    async with harness:
        harness.assert_subscribed("velux2mqtt/blind/set")
        harness.assert_state("blind", {"position": None, "moving": False})
        await harness.inject_command("blind", "40")
        harness.assert_state("blind", {"position": 40})
        await harness.inject_command("blind", "full", topic="velux2mqtt/blind/calibrate/set")
        harness.assert_state("blind", {"calibrated": "calibrate", "with": "full"})
        assert harness.messages_for("velux2mqtt/blind/error") == []


async def test_on_command_handler_taking_a_command_object() -> None:
    harness = AppHarness.create(name="bridge")
    received: list[Command] = []

    @harness.app.device("blind")
    async def blind(ctx: DeviceContext) -> None:
        @ctx.on_command
        async def handle(cmd: Command) -> None:
            received.append(cmd)

        while not ctx.shutdown_requested:
            await ctx.sleep(60)

    async with harness:
        await harness.inject_command("blind", "up")
    assert [(c.topic, c.payload, c.sub_topic) for c in received] == [
        ("bridge/blind/set", "up", None)
    ]


async def test_command_for_unhandled_sub_topic_publishes_one_error() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.device("blind")
    async def blind(ctx: DeviceContext) -> None:
        @ctx.on_command
        async def handle(payload: str) -> None:
            await ctx.publish_state({"p": payload})

        while not ctx.shutdown_requested:
            await ctx.sleep(60)

    async with harness:
        await harness.inject_command("blind", "x", topic="bridge/blind/nothing/set")
        assert len(harness.messages_for("bridge/blind/error")) == 1
        await harness.inject_command("blind", "ok")
        harness.assert_state("blind", {"p": "ok"})


async def test_commands_iterator_yields_commands_and_none_on_timeout() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.device("thermostat")
    async def thermostat(ctx: DeviceContext) -> None:
        ticks = 0
        async for cmd in ctx.commands(timeout=5):
            if cmd is None:
                ticks += 1
                await ctx.publish_state({"ticks": ticks})
            else:
                await ctx.publish_state({"target": cmd.payload})

    async with harness:
        harness.assert_subscribed("bridge/thermostat/set")
        await harness.inject_command("thermostat", "21")
        harness.assert_state("thermostat", {"target": "21"})
        await harness.advance_time(5)
        harness.assert_state("thermostat", {"ticks": 1})
        await harness.advance_time(5)
        harness.assert_state("thermostat", {"ticks": 2})


async def test_commands_iterator_works_with_anext() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.device("panel")
    async def panel(ctx: DeviceContext) -> None:
        commands = ctx.commands(timeout=10)
        first = await anext(commands)
        await ctx.publish_state({"first": None if first is None else first.payload})
        second = await anext(commands)
        await ctx.publish_state({"second": None if second is None else second.payload})
        while not ctx.shutdown_requested:
            await ctx.sleep(60)

    async with harness:
        await harness.advance_time(10)
        harness.assert_state("panel", {"first": None})
        await harness.inject_command("panel", "wake")
        harness.assert_state("panel", {"second": "wake"})


async def test_async_generator_device_runs_a_unit_per_yield_and_stops_at_shutdown() -> None:
    harness = AppHarness.create(name="bridge")
    cleaned_up: list[bool] = []

    @harness.app.device("counter")
    async def counter(ctx: DeviceContext) -> AsyncIterator[None]:
        count = 0
        try:
            while True:
                count += 1
                await ctx.publish_state({"count": count})
                yield
                await ctx.sleep(10)
        finally:
            cleaned_up.append(True)

    await harness.start()
    await harness.advance_time(20)
    assert _states(harness, "bridge/counter/state") == [{"count": 1}, {"count": 2}, {"count": 3}]
    await harness.stop()
    assert cleaned_up == [True]
    assert harness.messages_for("bridge/counter/availability")[-1] == ("offline", True, 1)


async def test_manual_telemetry_loop_of_adr_010() -> None:
    harness = AppHarness.create(name="gas2mqtt")
    readings = iter([0.1, 0.9, 0.2, 0.95, 0.1])

    @harness.app.device("counter")
    async def counter(ctx: DeviceContext) -> None:
        count = 0
        while not ctx.shutdown_requested:
            bz = next(readings, 0.0)
            if bz > 0.5:
                count += 1
                await ctx.publish_state({"count": count, "trigger": "CLOSED"})
            await ctx.sleep(1.0)

    async with harness:
        await harness.advance_time(4)
        assert _states(harness, "gas2mqtt/counter/state") == [
            {"count": 1, "trigger": "CLOSED"},
            {"count": 2, "trigger": "CLOSED"},
        ]


async def test_device_context_api() -> None:
    harness = AppHarness.create(name="bridge")
    harness.app.adapter(GpioPort, lambda: type("G", (), {"position": lambda self: 7})())
    seen: dict[str, object] = {}

    @harness.app.device("blind")
    async def blind(ctx: DeviceContext) -> None:
        seen["name"] = ctx.name
        seen["settings"] = ctx.settings
        seen["now"] = ctx.clock.now()
        seen["position"] = ctx.adapter(GpioPort).position()  # type: ignore[type-abstract]  # mypy#4717
        with pytest.raises(LookupError):
            ctx.adapter(Unknown)  # type: ignore[type-abstract]  # Protocol port: mypy#4717
        await ctx.publish_state({"position": 7})
        await ctx.publish_state({"transient": True}, retain=False)
        await ctx.publish("debug", "raw text")
        await ctx.publish("config", "kept", retain=True)
        seen["before"] = ctx.shutdown_requested
        await ctx.sleep(30)
        seen["after_sleep"] = ctx.clock.now()
        await ctx.sleep(1000)
        seen["after_shutdown"] = ctx.shutdown_requested

    await harness.start()
    assert seen["name"] == "blind"
    assert seen["settings"] is harness.settings
    assert seen["now"] == 0.0
    assert seen["position"] == 7
    assert harness.mqtt.get_messages_for("bridge/blind/state") == [
        ('{"position":7}', True, 1),
        ('{"transient":true}', False, 1),
    ]
    assert harness.mqtt.get_messages_for("bridge/blind/debug") == [("raw text", False, 1)]
    assert harness.mqtt.get_messages_for("bridge/blind/config") == [("kept", True, 1)]
    assert seen["before"] is False
    await harness.advance_time(30)
    assert seen["after_sleep"] == 30.0
    await harness.stop()  # the 1000 s sleep returns early, without an exception
    assert seen["after_shutdown"] is True
    assert harness.messages_for("bridge/blind/error") == []


async def test_sub_entity_lifecycle() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.device("hub")
    async def hub(ctx: DeviceContext) -> None:
        async with ctx.sub_entity("lamp") as lamp:
            await lamp.publish_state({"on": True})
            await ctx.sleep(10)

    async with harness:
        assert harness.messages_for("bridge/hub/lamp/availability") == [("online", True, 1)]
        assert harness.mqtt.get_messages_for("bridge/hub/lamp/state") == [('{"on":true}', True, 1)]
        await harness.advance_time(10)
        assert harness.messages_for("bridge/hub/lamp/state") == [
            ('{"on":true}', True, 1),
            ("", True, 1),
        ]
        assert harness.messages_for("bridge/hub/lamp/availability") == [
            ("online", True, 1),
            ("offline", True, 1),
        ]


async def test_crashing_device_is_restarted_then_marked_offline() -> None:
    app = App("bridge", max_restarts=1, restart_cooldown=1.0)
    harness = AppHarness.create(app=app)
    starts = 0

    @app.device("flaky")
    async def flaky(ctx: DeviceContext) -> None:
        nonlocal starts
        starts += 1
        raise RuntimeError(f"crash {starts}")

    async with harness:
        assert starts == 1
        assert len(harness.messages_for("bridge/flaky/error")) == 1
        await harness.advance_time(0.9)
        assert starts == 1
        await harness.advance_time(0.1)
        assert starts == 2
        assert harness.messages_for("bridge/flaky/availability") == [
            ("online", True, 1),
            ("offline", True, 1),
        ]
        await harness.advance_time(60)
        assert starts == 2
        messages = [
            json.loads(p)["message"] for p, _, _ in harness.messages_for("bridge/flaky/error")
        ]
        assert messages == ["crash 1", "crash 2"]


async def test_restarted_device_can_register_its_command_handler_again() -> None:
    app = App("bridge", max_restarts=2, restart_cooldown=1.0)
    harness = AppHarness.create(app=app)
    starts = 0

    @app.device("blind")
    async def blind(ctx: DeviceContext) -> None:
        nonlocal starts
        starts += 1

        @ctx.on_command
        async def handle(payload: str) -> None:
            await ctx.publish_state({"start": starts, "payload": payload})

        if starts == 1:
            raise RuntimeError("first start fails")
        while not ctx.shutdown_requested:
            await ctx.sleep(60)

    async with harness:
        await harness.advance_time(1.0)
        assert starts == 2
        await harness.inject_command("blind", "up")
        harness.assert_state("blind", {"start": 2, "payload": "up"})


async def test_on_command_after_commands_iterator_is_a_runtime_error() -> None:
    harness = AppHarness.create(name="bridge")
    problems: list[BaseException] = []

    @harness.app.device("panel")
    async def panel(ctx: DeviceContext) -> None:
        commands = ctx.commands(timeout=10)
        try:

            @ctx.on_command
            async def handle(payload: str) -> None:
                return None

        except RuntimeError as exc:
            problems.append(exc)
        with pytest.raises(RuntimeError):
            ctx.commands()
        async for _ in commands:
            pass

    async with harness:
        assert len(problems) == 1


async def test_device_command_over_max_payload_bytes_is_rejected() -> None:
    harness = AppHarness.create(name="bridge", mqtt={"max_payload_bytes": 32})
    seen: list[str] = []

    @harness.app.device("blind")
    async def blind(ctx: DeviceContext) -> None:
        @ctx.on_command
        async def handle(payload: str) -> None:
            seen.append(payload)

        while not ctx.shutdown_requested:
            await ctx.sleep(60)

    async with harness:
        await harness.inject_command("blind", "y" * 64)
        await harness.inject_command("blind", "ok")
        assert seen == ["ok"]
        assert len(harness.messages_for("bridge/blind/error")) == 1


async def test_on_command_and_sub_entity_validation() -> None:
    harness = AppHarness.create(name="bridge")
    outcomes: dict[str, type[BaseException] | None] = {}

    def attempt(label: str, action) -> None:  # type: ignore[no-untyped-def]
        try:
            action()
            outcomes[label] = None
        except Exception as exc:
            outcomes[label] = type(exc)

    @harness.app.device("blind")
    async def blind(ctx: DeviceContext) -> None:
        async def handler(payload: str) -> None:
            return None

        ctx.on_command("calibrate")(handler)
        attempt("duplicate sub", lambda: ctx.on_command("calibrate")(handler))
        attempt("empty sub", lambda: ctx.on_command(""))
        attempt("slash sub", lambda: ctx.on_command("a/b"))
        attempt("wildcard sub", lambda: ctx.on_command("a+"))
        try:
            await ctx.sleep_until([])
        except ValueError:
            outcomes["empty sleep_until"] = ValueError
        try:
            async with ctx.sub_entity("a/b"):
                pass
        except ValueError:
            outcomes["bad sub_entity"] = ValueError

    async with harness:
        pass
    assert outcomes == {
        "duplicate sub": RuntimeError,
        "empty sub": ValueError,
        "slash sub": ValueError,
        "wildcard sub": ValueError,
        "empty sleep_until": ValueError,
        "bad sub_entity": ValueError,
    }
