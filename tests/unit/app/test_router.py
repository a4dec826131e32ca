"""Router composition: prefixes, tags, snapshots, collisions and adapters (ADR-044)."""

from typing import Protocol

import pytest

import cosalette
from cosalette import App, Router
from cosalette.testing import AppHarness


async def read_temperature() -> dict[str, object]:
    return {"celsius": 22.5}


async def read_humidity() -> dict[str, object]:
    return {"percent": 55.0}


async def handle(payload: str) -> dict[str, object]:
    return {"state": payload}


class SensorPort(Protocol):
    def read(self) -> float: ...


class RealSensor:
    def read(self) -> float:
        return 1.0


class OtherSensor:
    def read(self) -> float:
        return 2.0


class IncludeSensor:
    def read(self) -> float:
        return 3.0


def _sensors_router() -> Router:
    router = Router(prefix="sensors", tags=["environment"])
    router.telemetry("temperature", interval=30)(read_temperature)
    router.telemetry("humidity", interval=30)(read_humidity)
    return router


def test_router_is_exported_and_has_registration_views() -> None:
    router = _sensors_router()
    router.command("valve")(handle)
    assert cosalette.Router is Router
    assert router.registered_names == {"temperature", "humidity", "valve"}
    assert [r.name for r in router.telemetry_registrations] == ["temperature", "humidity"]
    assert [r.name for r in router.commands] == ["valve"]
    assert list(router.devices) == []


def test_router_validation_matches_app_validation() -> None:
    router = Router()
    router.telemetry("t", interval=1)(read_temperature)
    with pytest.raises(ValueError):
        router.command("t")(handle)
    with pytest.raises(ValueError):
        router.telemetry("x", interval=0)(read_temperature)
    with pytest.raises(TypeError):
        router.telemetry(read_temperature)  # type: ignore[arg-type]


def test_include_prefixes_names_with_router_prefix() -> None:
    app = App("home2mqtt")
    app.include_router(_sensors_router())
    assert app.registered_names() == {"sensors/temperature", "sensors/humidity"}


def test_include_prefix_is_combined_with_router_prefix() -> None:
    app = App("home2mqtt")
    app.include_router(_sensors_router(), prefix="upstairs")
    assert app.registered_names() == {"upstairs/sensors/temperature", "upstairs/sensors/humidity"}


def test_router_without_prefix_keeps_names() -> None:
    router = Router()
    router.command("valve")(handle)
    app = App("bridge")
    app.include_router(router)
    assert app.registered_names() == {"valve"}


@pytest.mark.parametrize("bad", ["a/b", "a+b", "a#b"])
def test_include_prefix_must_be_a_single_topic_segment(bad: str) -> None:
    app = App("bridge")
    with pytest.raises(ValueError):
        app.include_router(_sensors_router(), prefix=bad)
    assert app.registered_names() == frozenset()


def test_include_dependencies_are_reserved() -> None:
    with pytest.raises(NotImplementedError):
        App("bridge").include_router(_sensors_router(), dependencies=[object()])


def test_same_router_twice_with_different_prefixes() -> None:
    app = App("bridge")
    router = _sensors_router()
    app.include_router(router, prefix="a")
    app.include_router(router, prefix="b")
    assert len(app.telemetry_registrations) == 4
    assert "a/sensors/temperature" in app.registered_names()
    assert "b/sensors/temperature" in app.registered_names()


def test_tags_accumulate_router_then_include() -> None:
    app = App("bridge")
    app.include_router(_sensors_router(), tags=["production", "ground-floor"])
    for reg in app.telemetry_registrations:
        assert tuple(reg.tags) == ("environment", "production", "ground-floor")


def test_snapshot_semantics() -> None:
    app = App("bridge")
    router = _sensors_router()
    app.include_router(router)
    router.telemetry("pressure", interval=30)(read_temperature)
    assert "sensors/pressure" not in app.registered_names()
    assert len(app.telemetry_registrations) == 2
    assert "pressure" in router.registered_names


def test_name_collision_on_include_is_rejected() -> None:
    app = App("bridge")
    app.command("valve")(handle)
    router = Router()
    router.telemetry("valve", interval=5)(read_temperature)
    with pytest.raises(ValueError):
        app.include_router(router)
    assert [r.name for r in app.telemetry_registrations] == []


def test_including_the_same_router_twice_without_prefix_collides() -> None:
    app = App("bridge")
    router = _sensors_router()
    app.include_router(router)
    with pytest.raises(ValueError):
        app.include_router(router)
    assert len(app.telemetry_registrations) == 2


def test_router_adapters_are_merged_into_the_app() -> None:
    router = Router(adapters={SensorPort: RealSensor})
    app = App("bridge")
    app.include_router(router)
    assert app.adapters[SensorPort].impl is RealSensor


def test_adapter_conflict_on_include_is_rejected() -> None:
    app = App("bridge")
    app.adapter(SensorPort, RealSensor)
    router = Router()
    router.adapter(SensorPort, OtherSensor)
    with pytest.raises(ValueError):
        app.include_router(router)
    with pytest.raises(ValueError):
        app.include_router(Router(), adapters={SensorPort: OtherSensor})
    assert app.adapters[SensorPort].impl is RealSensor


def test_include_level_adapters_override_router_adapters() -> None:
    router = Router(adapters={SensorPort: RealSensor})
    app = App("bridge")
    app.include_router(router, adapters={SensorPort: IncludeSensor})
    assert app.adapters[SensorPort].impl is IncludeSensor


async def test_included_router_devices_publish_under_prefixed_topics() -> None:
    harness = AppHarness.create(name="home2mqtt")
    harness.app.include_router(_sensors_router())
    async with harness:
        harness.assert_state("home2mqtt/sensors/temperature/state", {"celsius": 22.5})
        harness.assert_state("home2mqtt/sensors/humidity/state", {"percent": 55.0})
        harness.assert_published("home2mqtt/sensors/temperature/availability", "online")


async def test_included_command_listens_on_prefixed_set_topic() -> None:
    router = Router(prefix="garden")
    router.command("valve")(handle)
    harness = AppHarness.create(name="bridge")
    harness.app.include_router(router, prefix="outside")
    async with harness:
        harness.assert_subscribed("bridge/outside/garden/valve/set")
        await harness.inject_command("outside/garden/valve", "open")
        harness.assert_state("bridge/outside/garden/valve/state", {"state": "open"})


async def test_included_adapter_is_injected_into_router_handler() -> None:
    router = Router(prefix="sensors", adapters={SensorPort: RealSensor})

    @router.telemetry("probe", interval=10)
    async def probe(sensor: SensorPort) -> dict[str, object]:
        return {"value": sensor.read()}

    harness = AppHarness.create(name="bridge")
    harness.app.include_router(router, adapters={SensorPort: IncludeSensor})
    async with harness:
        harness.assert_state("bridge/sensors/probe/state", {"value": 3.0})


async def test_included_name_callable_devices_get_the_prefix() -> None:
    router = Router(prefix="garden")

    @router.command(name=lambda s: {"a": 1, "b": 2})
    async def valve(payload: str, number: int) -> dict[str, object]:
        return {"n": number, "p": payload}

    harness = AppHarness.create(name="bridge")
    harness.app.include_router(router, prefix="outside")
    async with harness:
        harness.assert_subscribed("bridge/outside/garden/a/set")
        harness.assert_subscribed("bridge/outside/garden/b/set")
        await harness.inject_command("outside/garden/b", "open")
        harness.assert_state("bridge/outside/garden/b/state", {"n": 2, "p": "open"})


def test_operation_tags_come_last_after_router_and_include_tags() -> None:
    router = Router(tags=["hardware"])

    @router.telemetry("soil", interval=10, tags=["slow"])
    async def soil() -> dict[str, object]:
        return {}

    app = App("bridge")
    app.include_router(router, tags=["production"])
    (reg,) = app.telemetry_registrations
    assert reg.tags == ("hardware", "production", "slow")
