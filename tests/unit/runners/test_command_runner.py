"""@app.command: payload forms, state replies, bad input, FIFO order and availability."""

import json
from typing import Annotated

from pydantic import BaseModel

from cosalette import ClockPort, DeviceContext
from cosalette.mqtt import Payload
from cosalette.testing import AppHarness

ERROR_KEYS = {"error_type", "message", "device", "timestamp", "details"}


class ValveCmd(BaseModel):
    position: int


def _errors(harness: AppHarness, device: str = "valve") -> list[dict[str, object]]:
    return [json.loads(p) for p, _, _ in harness.messages_for(f"{harness.prefix}/{device}/error")]


def _global_errors(harness: AppHarness) -> list[dict[str, object]]:
    return [json.loads(p) for p, _, _ in harness.messages_for(f"{harness.prefix}/error")]


async def test_str_payload_and_returned_dict_published_as_state() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.command("valve")
    async def handle_valve(topic: str, payload: str, ctx: DeviceContext) -> dict[str, object]:
        return {"state": payload}

    async with harness:
        harness.assert_subscribed("bridge/valve/set")
        await harness.inject_command("valve", "open")
        assert harness.mqtt.get_messages_for("bridge/valve/state") == [
            ('{"state":"open"}', True, 1)
        ]
        harness.assert_published("bridge/valve/availability", "online")


async def test_topic_parameter_receives_the_full_topic() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.command("valve")
    async def handle(topic: str, payload: str) -> dict[str, object]:
        return {"topic": topic}

    async with harness:
        await harness.inject_command("valve", "x")
        harness.assert_state("valve", {"topic": "bridge/valve/set"})


async def test_dict_payload_is_parsed_json() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.command("valve")
    async def handle(payload: dict) -> dict[str, object]:  # type: ignore[type-arg]
        return {"got": payload}

    async with harness:
        await harness.inject_command("valve", '{"position": 40, "fast": true}')
        harness.assert_state("valve", {"got": {"position": 40, "fast": True}})


async def test_payload_model_validates_and_is_injected() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.command("valve", payload_model=ValveCmd)
    async def handle(cmd: ValveCmd) -> dict[str, object]:
        return {"position": cmd.position}

    async with harness:
        await harness.inject_command("valve", {"position": 70})
        harness.assert_state("valve", {"position": 70})


async def test_annotated_payload_marker() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.command("valve")
    async def handle(cmd: Annotated[ValveCmd, Payload()]) -> dict[str, object]:
        return {"position": cmd.position}

    async with harness:
        await harness.inject_command("valve", {"position": 5})
        harness.assert_state("valve", {"position": 5})


async def test_returning_none_publishes_nothing() -> None:
    harness = AppHarness.create(name="bridge")
    seen: list[str] = []

    @harness.app.command("valve")
    async def handle(payload: str) -> None:
        seen.append(payload)

    async with harness:
        await harness.inject_command("valve", "open")
        assert seen == ["open"]
        assert harness.messages_for("bridge/valve/state") == []
        assert _global_errors(harness) == []


# --- bad input: exactly one error each, and the next command still works -----------------


async def test_malformed_json_publishes_one_error_and_app_continues() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.command("valve")
    async def handle(payload: dict) -> dict[str, object]:  # type: ignore[type-arg]
        return {"position": payload["position"]}

    async with harness:
        await harness.inject_command("valve", "{not json")
        errors = _errors(harness)
        assert len(errors) == 1
        assert set(errors[0]) == ERROR_KEYS
        assert errors[0]["device"] == "valve"
        assert len(_global_errors(harness)) == 1
        assert harness.messages_for("bridge/valve/state") == []
        await harness.inject_command("valve", {"position": 1})
        harness.assert_state("valve", {"position": 1})
        assert len(_errors(harness)) == 1


async def test_payload_failing_its_model_publishes_one_error() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.command("valve", payload_model=ValveCmd)
    async def handle(cmd: ValveCmd) -> dict[str, object]:
        return {"position": cmd.position}

    async with harness:
        await harness.inject_command("valve", {"position": "wide open"})
        assert len(_errors(harness)) == 1
        assert harness.messages_for("bridge/valve/state") == []
        await harness.inject_command("valve", {"position": 2})
        harness.assert_state("valve", {"position": 2})
        assert len(_errors(harness)) == 1


async def test_sub_commands_route_by_command_key() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.command("valve", sub="open")
    async def open_(payload: dict) -> dict[str, object]:  # type: ignore[type-arg]
        return {"action": "open"}

    @harness.app.command("valve", sub="close")
    async def close(payload: dict) -> dict[str, object]:  # type: ignore[type-arg]
        return {"action": "close"}

    async with harness:
        await harness.inject_command("valve", {"command": "close"})
        harness.assert_state("valve", {"action": "close"})
        await harness.inject_command("valve", {"command": "x"})
        assert len(_errors(harness)) == 1
        assert len(_global_errors(harness)) == 1
        await harness.inject_command("valve", {"command": "open"})
        harness.assert_state("valve", {"action": "open"}, count=2)
        assert len(_errors(harness)) == 1


async def test_payload_over_max_payload_bytes_is_rejected() -> None:
    harness = AppHarness.create(name="bridge", mqtt={"max_payload_bytes": 32})
    seen: list[str] = []

    @harness.app.command("valve")
    async def handle(payload: str) -> dict[str, object]:
        seen.append(payload)
        return {"len": len(payload)}

    async with harness:
        await harness.inject_command("valve", "x" * 100)
        assert seen == []
        assert len(_errors(harness)) == 1
        assert len(_global_errors(harness)) == 1
        await harness.inject_command("valve", "small")
        assert seen == ["small"]
        harness.assert_state("valve", {"len": 5})


async def test_handler_exception_publishes_error_and_next_command_runs() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.command("valve")
    async def handle(payload: str) -> dict[str, object]:
        if payload == "boom":
            raise RuntimeError("relay stuck")
        return {"state": payload}

    async with harness:
        await harness.inject_command("valve", "boom")
        errors = _errors(harness)
        assert len(errors) == 1
        assert errors[0]["message"] == "relay stuck"
        assert errors[0]["device"] == "valve"
        await harness.inject_command("valve", "open")
        harness.assert_state("valve", {"state": "open"})


# --- ordering and availability ----------------------------------------------------------


async def test_commands_for_one_entity_run_in_fifo_order() -> None:
    harness = AppHarness.create(name="bridge")
    events: list[str] = []

    @harness.app.command("valve")
    async def handle(payload: str, clock: ClockPort) -> dict[str, object]:
        events.append(f"start {payload}")
        await clock.sleep(10 if payload == "slow" else 1)
        events.append(f"end {payload}")
        return {"done": payload}

    async with harness:
        await harness.inject_command("valve", "slow")
        await harness.inject_command("valve", "quick")
        assert events == ["start slow"]
        await harness.advance_time(20)
        assert events == ["start slow", "end slow", "start quick", "end quick"]
        states = [json.loads(p)["done"] for p, _, _ in harness.messages_for("bridge/valve/state")]
        assert states == ["slow", "quick"]


async def test_unavailable_on_marks_device_offline_until_next_success() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.command("valve", unavailable_on=(ConnectionError,))
    async def handle(payload: str) -> dict[str, object]:
        if payload == "fail":
            raise ConnectionError("hub unreachable")
        return {"state": payload}

    async with harness:
        await harness.inject_command("valve", "fail")
        assert harness.messages_for("bridge/valve/availability") == [
            ("online", True, 1),
            ("offline", True, 1),
        ]
        await harness.inject_command("valve", "open")
        assert harness.messages_for("bridge/valve/availability") == [
            ("online", True, 1),
            ("offline", True, 1),
            ("online", True, 1),
        ]
        harness.assert_state("valve", {"state": "open"})


async def test_command_device_injects_device_context_for_its_entity() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.command("valve")
    async def handle(payload: str, ctx: DeviceContext) -> None:
        await ctx.publish("ack", payload)

    async with harness:
        await harness.inject_command("valve", "open")
        assert harness.mqtt.get_messages_for("bridge/valve/ack") == [("open", False, 1)]


async def test_payload_parameter_annotated_with_a_model_is_validated() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.command("valve")
    async def handle(payload: ValveCmd) -> dict[str, object]:
        return {"position": payload.position}

    async with harness:
        await harness.inject_command("valve", {"position": 9})
        harness.assert_state("valve", {"position": 9})
        await harness.inject_command("valve", {"nope": 1})
        assert len(_errors(harness)) == 1


async def test_non_object_json_and_missing_command_key_are_rejected_once_each() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.command("valve", sub="open")
    async def open_(payload: dict) -> dict[str, object]:  # type: ignore[type-arg]
        return {"action": "open"}

    async with harness:
        await harness.inject_command("valve", "[1, 2]")
        await harness.inject_command("valve", {"position": 3})
        assert len(_errors(harness)) == 2
        assert harness.messages_for("bridge/valve/state") == []


async def test_max_payload_bytes_counts_bytes_and_accepts_the_limit() -> None:
    harness = AppHarness.create(name="bridge", mqtt={"max_payload_bytes": 32})
    seen: list[str] = []

    @harness.app.command("valve")
    async def handle(payload: str) -> None:
        seen.append(payload)

    async with harness:
        await harness.inject_command("valve", "x" * 32)
        await harness.inject_command("valve", "ü" * 20)  # 20 characters, 40 bytes
        assert seen == ["x" * 32]
        assert len(_errors(harness)) == 1


async def test_heartbeat_status_returns_to_ok_after_a_successful_command() -> None:
    from cosalette import App

    app = App("bridge", heartbeat_interval=10)
    harness = AppHarness.create(app=app)

    @app.command("valve")
    async def handle(payload: str) -> dict[str, object]:
        if payload == "boom":
            raise RuntimeError("relay stuck")
        return {"state": payload}

    def status() -> str:
        beat = json.loads(harness.messages_for("bridge/status")[-1][0])
        return beat["devices"]["valve"]["status"]  # type: ignore[no-any-return]

    async with harness:
        await harness.inject_command("valve", "boom")
        await harness.advance_time(10)
        assert status() == "error"
        await harness.inject_command("valve", "open")
        await harness.advance_time(10)
        assert status() == "ok"


async def test_returned_model_is_published_as_state_and_dict_payload_model() -> None:
    class Position(BaseModel):
        position: int
        moving: bool = False

    harness = AppHarness.create(name="bridge")

    @harness.app.command("blind", payload_model=dict, state_model=Position)
    async def blind(payload: dict) -> Position:  # type: ignore[type-arg]
        return Position(position=payload["position"])

    async with harness:
        await harness.inject_command("blind", {"position": 30})
        assert harness.messages_for("bridge/blind/state") == [
            ('{"position":30,"moving":false}', True, 1)
        ]
        await harness.inject_command("blind", "not json")
        assert len(_errors(harness, "blind")) == 1


async def test_root_command_device_uses_app_level_topics() -> None:
    harness = AppHarness.create(name="valve2mqtt")

    @harness.app.command()
    async def valve(payload: str) -> dict[str, object]:
        return {"state": payload}

    async with harness:
        harness.assert_subscribed("valve2mqtt/set")
        await harness.inject_command("", "open")
        harness.assert_state("valve2mqtt/state", {"state": "open"})
        assert harness.messages_for("valve2mqtt/availability") == [("online", True, 1)]
    assert harness.messages_for("valve2mqtt/availability") == [
        ("online", True, 1),
        ("offline", True, 1),
    ]


async def test_custom_sub_key_routes_commands() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.command("light", sub="on", sub_key="action")
    async def on(payload: dict) -> dict[str, object]:  # type: ignore[type-arg]
        return {"light": "on"}

    @harness.app.command("light", sub="off", sub_key="action")
    async def off(payload: dict) -> dict[str, object]:  # type: ignore[type-arg]
        return {"light": "off"}

    async with harness:
        await harness.inject_command("light", {"action": "off"})
        harness.assert_state("light", {"light": "off"})
        await harness.inject_command("light", {"command": "on"})
        assert len(_errors(harness, "light")) == 1


async def test_a_slow_entity_does_not_block_another_entity() -> None:
    harness = AppHarness.create(name="bridge")

    @harness.app.command("slow")
    async def slow(payload: str, clock: ClockPort) -> dict[str, object]:
        await clock.sleep(20)  # within the default 30 s command timeout
        return {"done": True}

    @harness.app.command("fast")
    async def fast(payload: str) -> dict[str, object]:
        return {"done": True}

    async with harness:
        await harness.inject_command("slow", "go")
        await harness.inject_command("fast", "go")
        harness.assert_state("fast", {"done": True})
        assert harness.messages_for("bridge/slow/state") == []
        await harness.advance_time(20)
        harness.assert_state("slow", {"done": True})
