"""Dependency injection by parameter annotation."""

import logging
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypeVar

import _future_handlers as fh
import pytest
from pydantic import BaseModel

from cosalette import App, ClockPort, DeviceContext, Settings
from cosalette.mqtt import Payload
from cosalette.testing import AppHarness

T_co = TypeVar("T_co", covariant=True)


class BridgeSettings(Settings):
    poll_interval: float = 30.0
    label: str = "default"


class ThermoPort(Protocol):
    def read(self) -> float: ...


class Thermo:
    def read(self) -> float:
        return 21.5


class StreamLikePort(Protocol[T_co]):
    def latest(self) -> T_co: ...


class IntStream:
    def latest(self) -> int:
        return 7


class StrStream:
    def latest(self) -> str:
        return "seven"


class Unregistered(Protocol):
    def nothing(self) -> None: ...


@dataclass
class SensorConfig:
    mac: str


class Smoother:
    def __init__(self) -> None:
        self.calls = 0


def _harness(**overrides: Any) -> AppHarness:
    app = App("bridge", "1.0.0", settings_class=BridgeSettings)
    return AppHarness.create(app=app, **overrides)


async def test_device_context_settings_logger_and_clock_are_injected() -> None:
    harness = _harness(label="from-test")
    seen: dict[str, object] = {}

    @harness.app.telemetry("probe", interval=10)
    async def probe(
        ctx: DeviceContext,
        settings: BridgeSettings,
        base: Settings,
        log: logging.Logger,
        clock: ClockPort,
    ) -> dict[str, object]:
        seen.update(ctx=ctx, settings=settings, base=base, log=log, clock=clock)
        return {"ok": True}

    async with harness:
        harness.assert_state("probe", {"ok": True})
    assert isinstance(seen["ctx"], DeviceContext)
    assert seen["ctx"].name == "probe"
    assert seen["settings"] is harness.settings
    assert seen["base"] is harness.settings
    assert seen["settings"].label == "from-test"  # type: ignore[attr-defined]
    assert isinstance(seen["log"], logging.Logger)
    assert seen["clock"] is harness.clock


async def test_adapter_port_is_injected_and_shared() -> None:
    harness = _harness()
    harness.app.adapter(ThermoPort, Thermo)
    instances: list[object] = []

    @harness.app.telemetry("a", interval=10)
    async def a(thermo: ThermoPort) -> dict[str, object]:
        instances.append(thermo)
        return {"celsius": thermo.read()}

    @harness.app.command("b")
    async def b(payload: str, thermo: ThermoPort) -> dict[str, object]:
        instances.append(thermo)
        return {"celsius": thermo.read()}

    async with harness:
        await harness.inject_command("b", "read")
        harness.assert_state("a", {"celsius": 21.5})
        harness.assert_state("b", {"celsius": 21.5})
    assert len(instances) == 2
    assert instances[0] is instances[1]
    assert isinstance(instances[0], Thermo)


async def test_generic_alias_is_a_valid_adapter_key() -> None:
    harness = _harness()
    harness.app.adapter(StreamLikePort[int], IntStream)
    harness.app.adapter(StreamLikePort[str], StrStream)

    @harness.app.telemetry("ints", interval=10)
    async def ints(stream: StreamLikePort[int]) -> dict[str, object]:
        return {"latest": stream.latest()}

    @harness.app.telemetry("strs", interval=10)
    async def strs(stream: StreamLikePort[str]) -> dict[str, object]:
        return {"latest": stream.latest()}

    async with harness:
        harness.assert_state("ints", {"latest": 7})
        harness.assert_state("strs", {"latest": "seven"})


async def test_init_product_is_injected_by_type_and_created_once() -> None:
    harness = _harness()
    created: list[Smoother] = []

    def make_smoother() -> Smoother:
        created.append(Smoother())
        return created[-1]

    @harness.app.telemetry("t", interval=10, init=make_smoother)
    async def t(smoother: Smoother) -> dict[str, object]:
        smoother.calls += 1
        return {"calls": smoother.calls}

    async with harness:
        await harness.advance_time(20)
        harness.assert_state("t", {"calls": 3})
    assert len(created) == 1


async def test_init_receives_injected_settings() -> None:
    harness = _harness(label="calibrated")

    def make(settings: BridgeSettings) -> Smoother:
        s = Smoother()
        s.calls = len(settings.label)
        return s

    @harness.app.command("c", init=make)
    async def c(payload: str, smoother: Smoother) -> dict[str, object]:
        smoother.calls += 1
        return {"calls": smoother.calls}

    async with harness:
        await harness.inject_command("c", "x")
        await harness.inject_command("c", "x")
        harness.assert_state("c", {"calls": len("calibrated") + 2})


async def test_name_callable_expands_devices_and_injects_config() -> None:
    harness = _harness()

    @harness.app.telemetry(
        name=lambda s: {"kitchen": SensorConfig(mac="AA:01"), "attic": SensorConfig(mac="AA:02")},
        interval=10,
    )
    async def sensor(ctx: DeviceContext, config: SensorConfig) -> dict[str, object]:
        return {"device": ctx.name, "mac": config.mac}

    assert harness.app.has_dynamic_entities is True
    async with harness:
        harness.assert_state("kitchen", {"device": "kitchen", "mac": "AA:01"})
        harness.assert_state("attic", {"device": "attic", "mac": "AA:02"})
        harness.assert_published("bridge/kitchen/availability", "online")


async def test_optional_parameter_gets_none_or_the_adapter() -> None:
    harness = _harness()
    harness.app.adapter(ThermoPort, Thermo)

    @harness.app.telemetry("t", interval=10)
    async def t(
        thermo: ThermoPort | None = None, missing: Unregistered | None = None
    ) -> dict[str, object]:
        return {"thermo": thermo is not None, "missing": missing is None}

    async with harness:
        harness.assert_state("t", {"thermo": True, "missing": True})


async def test_unresolvable_parameter_fails_start_naming_handler_and_parameter() -> None:
    harness = _harness()

    @harness.app.telemetry("t", interval=10)
    async def needs_port(mystery_port: Unregistered) -> dict[str, object]:
        return {"never": True}

    with pytest.raises(Exception) as info:
        await harness.start()
    message = str(info.value)
    assert "needs_port" in message
    assert "mystery_port" in message
    assert harness.messages_for("bridge/t/state") == []


async def test_annotated_payload_marker_outside_future_module() -> None:
    class Move(BaseModel):
        target: int

    harness = _harness()

    @harness.app.command("blind")
    async def blind(cmd: Annotated[Move, Payload()]) -> dict[str, object]:
        return {"target": cmd.target}

    async with harness:
        await harness.inject_command("blind", {"target": 40})
        harness.assert_state("blind", {"target": 40})


# --- string annotations (from __future__ import annotations) ------------------------------


async def test_future_annotations_are_resolved_against_the_handler_module() -> None:
    app = App("bridge", settings_class=fh.FutureSettings)
    app.adapter(fh.MeterPort, fh.Meter)
    app.add_telemetry("meter", fh.everything, interval=10, init=fh.make_calibration)
    harness = AppHarness.create(app=app, greeting="hi")
    async with harness:
        harness.assert_state(
            "meter",
            {
                "name": "meter",
                "greeting": "hi",
                "same_settings": True,
                "logger": True,
                "now": 0.0,
                "reading": 44,
                "optional": True,
            },
        )


async def test_future_annotations_in_command_handlers() -> None:
    app = App("bridge")
    app.add_command("valve", fh.set_valve)
    app.add_command("echo", fh.echo)
    harness = AppHarness.create(app=app)
    async with harness:
        await harness.inject_command("valve", {"position": 3})
        await harness.inject_command("echo", "ping")
        harness.assert_state("valve", {"position": 3, "device": "valve"})
        harness.assert_state("echo", {"topic": "bridge/echo/set", "payload": "ping"})


def test_future_annotated_init_returning_settings_is_rejected() -> None:
    app = App("bridge")
    with pytest.raises(TypeError):
        app.add_telemetry("t", fh.everything, interval=1, init=fh.make_settings_product)
