"""App construction and registration: one validation path for decorators and add_*."""

import datetime
import logging
from typing import Any

import pytest
from pydantic import BaseModel

from cosalette import App, DeviceContext, IntervalSpec, SettingRef, Settings, setting_ref


async def _poll() -> dict[str, object]:
    return {"v": 1}


async def _handle(payload: str) -> dict[str, object]:
    return {"state": payload}


async def _device(ctx: DeviceContext) -> None:
    return None


async def _task() -> None:
    return None


# --- App constructor -----------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "a+b", "a#b", "a/b", "+", "#"])
def test_app_name_with_mqtt_special_characters_is_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        App(bad)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_restarts": -1},
        {"restart_after_failures": -1},
        {"restart_cooldown": 0},
        {"restart_cooldown": -1.0},
        {"heartbeat_interval": 0},
        {"heartbeat_interval": -5.0},
        {"health_check_interval": 0},
        {"sustained_health_reset": -1.0},
    ],
)
def test_app_rejects_negative_or_zero_tuning_values(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        App("bridge", **kwargs)


def test_app_accepts_none_to_disable_heartbeat_and_health_checks() -> None:
    app = App("bridge", heartbeat_interval=None, health_check_interval=None)
    assert app.name == "bridge"


def test_app_properties_reflect_constructor_arguments() -> None:
    class MySettings(Settings):
        poll: float = 12.0

    app = App("gas2mqtt", "1.2.3", description="Gas meter", settings_class=MySettings)
    assert app.name == "gas2mqtt"
    assert app.version == "1.2.3"
    assert app.description == "Gas meter"
    assert app.settings_class is MySettings
    assert isinstance(app.settings, MySettings)
    assert app.settings.poll == 12.0
    assert type(app.store).__name__ == "JsonFileStore"  # store= omitted: the default store
    assert app.store_is_default is True
    assert list(app.adapters) == []
    assert app.has_dynamic_entities is False
    assert app.devices == () or list(app.devices) == []


def test_app_defaults() -> None:
    app = App("bridge")
    assert app.version == "0.0.0"
    assert app.description == "IoT-to-MQTT bridge"
    assert app.settings_class is Settings
    assert app._max_restarts == 3
    assert app._restart_after_failures == 5


class _RequiredSettings(Settings):
    api_token: str


def test_app_with_unloadable_settings_constructs_and_settings_raises_runtime_error() -> None:
    app = App("bridge", settings_class=_RequiredSettings)  # --help/--version must still work
    assert app.name == "bridge"
    with pytest.raises(RuntimeError):
        app.settings  # noqa: B018


# --- registered names, views ----------------------------------------------------------


def test_registered_names_covers_every_archetype() -> None:
    app = App("bridge")
    app.add_telemetry("temp", _poll, interval=10)
    app.add_command("valve", _handle)
    app.add_device("blind", _device)
    app.add_periodic("flush", _task, interval=30)
    assert app.registered_names() == frozenset({"temp", "valve", "blind", "flush"})
    assert [r.name for r in app.telemetry_registrations] == ["temp"]
    assert [r.name for r in app.commands] == ["valve"]
    assert [r.name for r in app.devices] == ["blind"]
    assert [r.name for r in app.periodic_registrations] == ["flush"]
    assert list(app.stream_registrations) == []


def test_decorators_return_the_function_unchanged() -> None:
    app = App("bridge")

    async def temp() -> dict[str, object]:
        return {}

    assert app.telemetry("temp", interval=1)(temp) is temp


def test_registration_views_expose_their_fields() -> None:
    class Init:
        pass

    def make() -> Init:
        return Init()

    class State(BaseModel):
        position: int

    class Cmd(BaseModel):
        target: int

    app = App("bridge")
    app.add_telemetry("temp", _poll, interval=15, init=make, state_model=State)
    app.add_command(
        "valve", _handle, unavailable_on=(ConnectionError,), state_model=State, payload_model=Cmd
    )
    app.add_periodic("flush", _task, interval=datetime.timedelta(minutes=2))

    tele = app.telemetry_registrations[0]
    assert (tele.name, tele.func, tele.interval, tele.init) == ("temp", _poll, 15.0, make)
    assert tele.state_model is State
    assert tele.payload_model is None

    cmd = app.commands[0]
    assert cmd.name == "valve" and cmd.func is _handle and cmd.init is None
    assert cmd.unavailable_on == (ConnectionError,)
    assert cmd.state_model is State and cmd.payload_model is Cmd

    per = app.periodic_registrations[0]
    assert per.name == "flush" and per.func is _task
    assert per.interval == 120.0


def test_contract_metadata_is_accepted_everywhere() -> None:
    app = App("bridge")
    meta: dict[str, Any] = {"summary": "s", "behavior": ["b"], "effects": ["e"]}
    app.telemetry("a", interval=1, **meta)(_poll)
    app.command("b", **meta)(_handle)
    app.device("c", **meta)(_device)
    app.periodic("d", interval=1, summary="s", behavior=["b"])(_task)
    app.add_telemetry("e", _poll, interval=1, **meta)
    app.add_command("f", _handle, **meta)
    app.add_device("g", _device, **meta)
    app.add_periodic("h", _task, interval=1, summary="s", behavior=["b"])
    assert len(app.registered_names()) == 8


# --- shared validation ----------------------------------------------------------------


def test_duplicate_names_across_archetypes_are_rejected() -> None:
    app = App("bridge")
    app.add_telemetry("x", _poll, interval=1)
    with pytest.raises(ValueError):
        app.add_command("x", _handle)
    with pytest.raises(ValueError):
        app.device("x")(_device)
    with pytest.raises(ValueError):
        app.periodic("x", interval=1)(_task)
    with pytest.raises(ValueError):
        app.telemetry("x", interval=1)(_poll)


def test_second_root_device_is_rejected() -> None:
    app = App("weather2mqtt")

    @app.telemetry(interval=30)
    async def read_sensor() -> dict[str, object]:
        return {}

    with pytest.raises(ValueError):

        @app.telemetry(interval=30)
        async def other() -> dict[str, object]:
            return {}

    with pytest.raises(ValueError):

        @app.command()
        async def cmd(payload: str) -> None:
            return None


def test_root_device_mixed_with_named_devices_is_allowed() -> None:
    app = App("weather2mqtt")
    app.telemetry(interval=30)(_poll)
    app.add_telemetry("extra", _poll, interval=30)
    assert len(app.telemetry_registrations) == 2


@pytest.mark.parametrize("name", ["", "a/b", "a+b", "a#b"])
def test_device_names_must_be_single_topic_segments(name: str) -> None:
    app = App("bridge")
    with pytest.raises(ValueError):
        app.add_telemetry(name, _poll, interval=1)
    with pytest.raises(ValueError):
        app.command(name)(_handle)


def _sync_handler() -> dict[str, object]:
    return {}


@pytest.mark.parametrize(
    "register",
    [
        lambda app: app.telemetry("t", interval=1)(_sync_handler),
        lambda app: app.add_telemetry("t", _sync_handler, interval=1),
        lambda app: app.command("t")(_sync_handler),
        lambda app: app.add_command("t", _sync_handler),
        lambda app: app.device("t")(_sync_handler),
        lambda app: app.add_device("t", _sync_handler),
        lambda app: app.periodic("t", interval=1)(_sync_handler),
        lambda app: app.add_periodic("t", _sync_handler, interval=1),
    ],
)
def test_non_async_handler_is_a_type_error(register) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError):
        register(App("bridge"))


async def poll_unannotated(sensor) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {}


@pytest.mark.parametrize("via", ["decorator", "add"])
def test_unannotated_parameter_names_handler_and_parameter(via: str) -> None:
    app = App("bridge")
    with pytest.raises(TypeError) as info:
        if via == "decorator":
            app.telemetry("t", interval=1)(poll_unannotated)
        else:
            app.add_telemetry("t", poll_unannotated, interval=1)
    message = str(info.value)
    assert "poll_unannotated" in message
    assert "sensor" in message


def test_unannotated_command_parameter_other_than_topic_payload_is_rejected() -> None:
    async def handle(topic, payload, extra) -> None:  # type: ignore[no-untyped-def]
        return None

    app = App("bridge")
    with pytest.raises(TypeError, match="extra"):
        app.command("valve")(handle)


@pytest.mark.parametrize("decorator", ["telemetry", "command", "device"])
def test_decorator_without_parentheses_is_a_type_error(decorator: str) -> None:
    app = App("bridge")

    async def handler() -> None:
        return None

    with pytest.raises(TypeError):
        getattr(app, decorator)(handler)


@pytest.mark.parametrize(
    "bad", [0, -1, 0.0, -0.5, datetime.timedelta(0), datetime.timedelta(seconds=-3)]
)
def test_interval_must_be_positive(bad: float | datetime.timedelta) -> None:
    app = App("bridge")
    with pytest.raises(ValueError):
        app.add_telemetry("t", _poll, interval=bad)
    with pytest.raises(ValueError):
        app.periodic("p", interval=bad)(_task)


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        (datetime.timedelta(seconds=90), 90.0),
        (30, 30.0),
        (2.5, 2.5),
    ],
)
def test_concrete_intervals_become_seconds(
    interval: float | datetime.timedelta, expected: float
) -> None:
    app = App("bridge")
    app.add_telemetry("t", _poll, interval=interval)
    assert app.telemetry_registrations[0].interval == expected


@pytest.mark.parametrize(
    "interval",
    [SettingRef("mqtt.keepalive"), setting_ref("mqtt.keepalive"), lambda s: s.mqtt.keepalive],
)
def test_deferred_intervals_are_accepted_and_resolved_at_start(interval: IntervalSpec) -> None:
    app = App("bridge")
    app.add_telemetry("t", _poll, interval=interval)
    app.add_periodic("p", _task, interval=interval)
    assert app.registered_names() == {"t", "p"}


def test_enabled_false_skips_registration_and_frees_the_name() -> None:
    app = App("bridge")
    app.telemetry("t", interval=1, enabled=False)(_poll)
    app.command("c", enabled=False)(_handle)
    app.device("d", enabled=False)(_device)
    app.periodic("p", interval=1, enabled=False)(_task)
    app.add_telemetry("t2", _poll, interval=1, enabled=False)
    app.add_periodic("p2", _task, interval=1, enabled=False)
    assert app.registered_names() == frozenset()
    app.add_telemetry("t", _poll, interval=1)
    assert app.registered_names() == {"t"}


def test_async_init_is_a_type_error() -> None:
    async def make() -> object:
        return object()

    app = App("bridge")
    with pytest.raises(TypeError):
        app.telemetry("t", interval=1, init=make)(_poll)
    with pytest.raises(TypeError):
        app.add_command("c", _handle, init=make)
    with pytest.raises(TypeError):
        app.device("d", init=make)(_device)


@pytest.mark.parametrize("framework_type", [Settings, logging.Logger, DeviceContext])
def test_init_returning_a_framework_type_is_a_type_error(framework_type: type) -> None:
    def make():  # type: ignore[no-untyped-def]
        raise AssertionError("must not be called at registration")

    make.__annotations__["return"] = framework_type
    app = App("bridge")
    with pytest.raises(TypeError):
        app.telemetry("t", interval=1, init=make)(_poll)


def test_init_returning_settings_annotated_in_source_is_rejected() -> None:
    def make() -> Settings:
        return Settings()

    with pytest.raises(TypeError):
        App("bridge").add_telemetry("t", _poll, interval=1, init=make)


def test_add_telemetry_needs_a_name() -> None:
    with pytest.raises((ValueError, TypeError)):
        App("bridge").add_telemetry(None, _poll, interval=1)  # type: ignore[arg-type]


def test_telemetry_without_interval_is_rejected() -> None:
    with pytest.raises((ValueError, TypeError)):
        App("bridge").telemetry("t")(_poll)
